/* cgi protocol, C: a header block with a name that is not an HTTP token (a 502). */
#include <stdio.h>

int main(void) {
    printf("Content-Type: text/plain\n");
    printf("Bad Header: spaces are not allowed in a name\n");
    printf("\n");
    printf("never sent\n");
    return 0;
}
