/*
 * wasio protocol, C: writes the request document it reads on stdin back to stdout unchanged,
 * so a test sees every field the server sent (method, headers, query, params, files, body).
 * Reads and writes in chunks so any size of document passes through.
 */
#include <stdio.h>

int main(void) {
    char buffer[16384];
    size_t count;
    while ((count = fread(buffer, 1, sizeof buffer, stdin)) > 0) {
        if (fwrite(buffer, 1, count, stdout) != count) return 1;
    }
    return ferror(stdin) ? 1 : 0;
}
