/*
 * Appends one line to /data/log.txt per request, in a single write so concurrent instances
 * never interleave, then sleeps for the `sleep` query parameter (milliseconds) if given.
 * The line is "<id>\n", `id` being a query parameter ("-" when absent).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The string value of `"name":"` in the payload, copied up to the closing quote. */
static void param(const char *payload, const char *name, char *out, size_t size) {
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s\":\"", name);
    const char *found = strstr(payload, needle);
    out[0] = '\0';
    if (found == NULL) return;
    found += strlen(needle);
    size_t length = 0;
    while (found[length] != '"' && found[length] != '\0' && length + 1 < size) length++;
    memcpy(out, found, length);
    out[length] = '\0';
}

int main(void) {
    static char payload[65536];
    size_t length = fread(payload, 1, sizeof payload - 1, stdin);
    payload[length] = '\0';
    char id[128], sleep_ms[32], line[160];
    param(payload, "id", id, sizeof id);
    param(payload, "sleep", sleep_ms, sizeof sleep_ms);
    int fd = open("/data/log.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) {
        perror("open /data/log.txt");
        return 1;
    }
    int line_length = snprintf(line, sizeof line, "%s\n", id[0] == '\0' ? "-" : id);
    if (write(fd, line, (size_t)line_length) != line_length) {
        perror("write");
        return 1;
    }
    close(fd);
    if (sleep_ms[0] != '\0') {
        long ms = strtol(sleep_ms, NULL, 10);
        struct timespec pause = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
        nanosleep(&pause, NULL);
    }
    fputs("written", stdout);
    return 0;
}
