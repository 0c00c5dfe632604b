/* Unbounded recursion: the engine's call stack overflows, which must be a trap, not a crash. */
static volatile int sink;

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winfinite-recursion"
__attribute__((noinline)) static int descend(int depth) {
    sink = depth;
    return descend(depth + 1) + sink;
}
#pragma clang diagnostic pop

int main(void) {
    return descend(0);
}
