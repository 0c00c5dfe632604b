/* Traps (`unreachable`) after writing a little output the client must never see. */
#include <stdio.h>

int main(void) {
    fputs("partial output", stdout);
    fflush(stdout);
    __builtin_trap();
}
