/* Opens /data/f as many times as the host allows, then prints how many opens succeeded. */
#include <fcntl.h>
#include <stdio.h>

int main(void) {
    int opened = 0;
    while (open("/data/f", O_RDONLY) >= 0 && opened < 100000) opened++;
    printf("%d", opened);
    return 0;
}
