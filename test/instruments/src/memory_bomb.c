/*
 * Allocates 1 MiB blocks forever, touching each one so it is really used, printing nothing
 * on stdout. Once malloc fails (the memory limit held the module back) it tells stderr how
 * far it got, so a test can check the limit was the one configured, and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chained through a volatile global so the compiler cannot drop the allocations. */
static void *volatile newest;

int main(void) {
    for (int mebibytes = 0;; mebibytes++) {
        void **block = malloc(1 << 20);
        if (block == NULL) {
            fprintf(stderr, "out of memory after %d MiB\n", mebibytes);
            return 1;
        }
        memset(block, 1, 1 << 20);
        *block = newest;
        newest = block;
    }
}
