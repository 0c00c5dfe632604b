/*
 * cgi protocol, C: headers that are the server's business, not the module's: a wrong
 * Content-Length, a Transfer-Encoding the body does not have, Connection, and an X-Request-Id
 * of its own. The server must frame the body itself and keep its own request id.
 */
#include <stdio.h>

int main(void) {
    fputs("Content-Type: text/plain\n"
          "Content-Length: 5\n"
          "Transfer-Encoding: chunked\n"
          "Connection: close\n"
          "X-Request-Id: chosen-by-the-module\n"
          "\n"
          "the server frames this body itself\n", stdout);
    return 0;
}
