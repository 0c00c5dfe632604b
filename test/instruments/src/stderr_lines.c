/* Two lines on stderr (for the log) and "ok" on stdout (for the client). */
#include <stdio.h>

int main(void) {
    fputs("first stderr line\nsecond stderr line\n", stderr);
    fputs("ok", stdout);
    return 0;
}
