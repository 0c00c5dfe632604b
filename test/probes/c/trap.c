/* Traps on purpose, chosen by argv[1]: unreachable, stack-overflow or out-of-bounds. */
#include "probe.h"

static volatile int sink;

/*
 * Non-tail recursion whose frame lives in wasm locals only, so it exhausts the engine's call
 * stack (a real stack overflow) instead of running the shadow stack in linear memory down.
 */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winfinite-recursion"
__attribute__((noinline)) static int recurse(int depth) {
    sink = depth;
    return recurse(depth + 1) + sink;
}
#pragma clang diagnostic pop

int main(int argc, char **argv) {
    const char *kind = argc > 1 ? argv[1] : "";
    SAY("before trap", kind);
    if (strcmp(kind, "unreachable") == 0) __builtin_trap();
    if (strcmp(kind, "stack-overflow") == 0) return recurse(0);
    /* 16 bytes below 4 GiB: outside any memory a 32-bit module can grow. */
    if (strcmp(kind, "out-of-bounds") == 0) return *(volatile int *)0xFFFFFFF0u;
    SAY("unknown trap kind");
    return 2;
}
