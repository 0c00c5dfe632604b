/*
 * Spins for the `n` query parameter (default 0) turns of a loop, then prints "spun N".
 * Short by default; a large n makes a run that only fuel or a timeout stops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    static char payload[65536];
    size_t length = fread(payload, 1, sizeof payload - 1, stdin);
    payload[length] = '\0';
    unsigned long long turns = 0;
    const char *found = strstr(payload, "\"n\":\"");
    if (found != NULL) turns = strtoull(found + 5, NULL, 10);
    volatile unsigned long long spun = 0;
    while (spun < turns) spun++;
    printf("spun %llu", (unsigned long long)spun);
    return 0;
}
