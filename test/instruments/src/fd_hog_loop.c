/*
 * Opens /data/f as many times as the host allows, then never ends: the descriptors are still
 * open when the timeout stops the instance, so only the host can give them back.
 */
#include <fcntl.h>

int main(void) {
    int opened = 0;
    while (open("/data/f", O_RDONLY) >= 0 && opened < 100000) opened++;
    volatile unsigned long spins = 0;
    for (;;) spins++;
}
