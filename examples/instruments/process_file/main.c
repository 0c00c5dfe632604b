/*
 * process_file: reports the number of lines in /data/input.txt and echoes
 * the file, to show an instrument reading a directory the route mounts.
 *
 *   GET /process_file  ->  File has 3 lines.\nContent: ...
 *
 * The request itself carries nothing this instrument needs, so stdin is not
 * read. A missing file is a deployment mistake, not the caller's: it ends
 * the instance with exit code 1, which the server answers with a 500.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INPUT "/data/input.txt"
#define MAX_SIZE (8u << 20) /* echoing more would make a poor response */

int main(void) {
    FILE *f = fopen(INPUT, "rb");
    if (!f) {
        fputs("process_file: cannot open " INPUT ": ", stderr);
        fputs(strerror(errno), stderr);
        fputc('\n', stderr);
        return 1;
    }
    char *data = malloc(MAX_SIZE);
    size_t len = data ? fread(data, 1, MAX_SIZE, f) : 0;
    if (!data || ferror(f) || !feof(f)) {
        fputs("process_file: cannot read " INPUT " (or it is larger than 8 MiB)\n", stderr);
        return 1;
    }
    fclose(f);

    /* A line is what ends in '\n', plus a last line without one. */
    unsigned long lines = 0;
    for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
    if (len > 0 && data[len - 1] != '\n') lines++;

    /* Formatted by hand: printf would triple the size of the module. */
    char digits[24], *d = digits + sizeof digits;
    *--d = '\0';
    do *--d = (char)('0' + lines % 10); while (lines /= 10);
    fputs("File has ", stdout);
    fputs(d, stdout);
    fputs(strcmp(d, "1") ? " lines.\nContent: " : " line.\nContent: ", stdout);
    fwrite(data, 1, len, stdout);
    return 0;
}
