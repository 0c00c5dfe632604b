/* Writes to stdout forever: the output limit must stop it. */
#include <string.h>
#include <unistd.h>

int main(void) {
    static char block[65536];
    memset(block, 'x', sizeof block);
    for (;;) write(STDOUT_FILENO, block, sizeof block);
}
