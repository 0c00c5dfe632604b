/*
 * cgi protocol, C: an explicit Status (404) with two Set-Cookie headers, which must both reach
 * the client in this order. Lines end in CRLF, as many CGI programs write them.
 */
#include <stdio.h>

int main(void) {
    fputs("Status: 404 Not Found\r\n"
          "Content-Type: text/plain; charset=utf-8\r\n"
          "Set-Cookie: session=abc123; Path=/; HttpOnly\r\n"
          "X-Between: cookies\r\n"
          "Set-Cookie: theme=dark; Max-Age=3600\r\n"
          "\r\n"
          "no such page\n", stdout);
    return 0;
}
