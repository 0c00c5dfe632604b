/* cgi protocol, C: a header block holding only Location, which the server answers with 302. */
#include <stdio.h>

int main(void) {
    printf("Location: /moved/here\n\n");
    return 0;
}
