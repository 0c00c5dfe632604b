/* cgi protocol, C: a module that forgot its header block and writes only a body (a 502). */
#include <stdio.h>

int main(void) {
    puts("hello world");
    fputs("about to write a body without headers\n", stderr);
    return 0;
}
