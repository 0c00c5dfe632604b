/* Fails the way a broken instrument does: a message on stderr and exit status 3. */
#include <stdio.h>

int main(void) {
    fputs("something broke\n", stderr);
    return 3;
}
