/* random_get fills buffers of several sizes with bytes that are not all the same. */
#include "probe.h"

static uint8_t big[1 << 16];

/* True when the buffer holds at least two different byte values. */
static int varied(const uint8_t *buf, size_t len) {
    for (size_t i = 1; i < len; i++)
        if (buf[i] != buf[0]) return 1;
    return 0;
}

int main(void) {
    uint8_t a[32], b[32];
    SAY("random empty", errno_name(__wasi_random_get(a, 0)));
    __wasi_errno_t e = __wasi_random_get(a, sizeof a);
    SAY("random 32", errno_name(e), varied(a, sizeof a) ? "varied" : "constant");
    e = __wasi_random_get(b, sizeof b);
    SAY("random again", errno_name(e), memcmp(a, b, sizeof a) ? "differs" : "same");
    e = __wasi_random_get(big, sizeof big);
    /* The tail proves the whole buffer was filled, not only a first chunk. */
    SAY("random 65536", errno_name(e), varied(big + sizeof big - 64, 64) ? "varied" : "constant");
    return 0;
}
