/* Sleeps for the `ms` query parameter (default 100) in milliseconds, then prints "slept". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(void) {
    static char payload[65536];
    size_t length = fread(payload, 1, sizeof payload - 1, stdin);
    payload[length] = '\0';
    long ms = 100;
    /* The first "ms" inside params; a full JSON reader is not needed for one digit string. */
    const char *found = strstr(payload, "\"ms\":\"");
    if (found != NULL) ms = strtol(found + 6, NULL, 10);
    struct timespec pause = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    nanosleep(&pause, NULL);
    fputs("slept", stdout);
    return 0;
}
