/*
 * wasio protocol, C: writes as many bytes as its first argument says (the route's `args`),
 * byte i being i % 251, in 64 KiB writes from one static buffer. The guest's own memory stays
 * small whatever the size, so the server's memory use for the response can be measured.
 */
#include <stdlib.h>
#include <unistd.h>

#define CHUNK 65536
/* A multiple of 251, so every chunk starts the pattern afresh. */
#define PERIOD_CHUNK (CHUNK - CHUNK % 251)

static unsigned char chunk[PERIOD_CHUNK];

int main(int argc, char **argv) {
    char drain[4096];
    while (read(0, drain, sizeof drain) > 0) { }
    long long remaining = argc > 1 ? atoll(argv[1]) : 0;
    for (int i = 0; i < PERIOD_CHUNK; i++) chunk[i] = (unsigned char)(i % 251);
    while (remaining > 0) {
        size_t want = remaining < PERIOD_CHUNK ? (size_t)remaining : PERIOD_CHUNK;
        ssize_t written = write(1, chunk, want);
        if (written <= 0) return 1;
        remaining -= written;
        /* A short write leaves the pattern mid-period; the server's sink never writes short. */
        if ((size_t)written != want) return 2;
    }
    return 0;
}
