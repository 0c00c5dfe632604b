/* Standard streams: stdin read to its end, writes to stdout and stderr, fdstat of fd 0, 1, 2. */
#include <unistd.h>
#include "probe.h"

/* FNV-1a, so the transcript can prove every stdin byte arrived in order. */
static uint32_t fnv1a(uint32_t hash, const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; i++) hash = (hash ^ data[i]) * 16777619u;
    return hash;
}

static void print_fdstat(__wasi_fd_t fd) {
    __wasi_fdstat_t stat;
    __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &stat);
    if (e != 0) { SAY("fdstat", num(fd), errno_name(e)); return; }
    SAY("fdstat", num(fd), filetype_name(stat.fs_filetype),
        stat.fs_rights_base & __WASI_RIGHTS_FD_READ ? "can-read" : "no-read",
        stat.fs_rights_base & __WASI_RIGHTS_FD_WRITE ? "can-write" : "no-write");
}

int main(void) {
    for (__wasi_fd_t fd = 0; fd < 3; fd++) print_fdstat(fd);

    /* libc read(), as real programs drain their request. */
    uint8_t buf[4096];
    uint64_t total = 0;
    uint32_t hash = 2166136261u;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        total += (uint64_t)n;
        hash = fnv1a(hash, buf, (size_t)n);
    }
    SAY("stdin bytes", num(total), "fnv1a", num(hash), n == 0 ? "eof" : "error");
    SAY("stdin after-eof", read(0, buf, sizeof buf) == 0 ? "eof" : "not-eof");

    /* Two iovecs in one call must come out as one line, in order. */
    __wasi_ciovec_t iovs[2] = {{(const uint8_t *)"gather", 6}, {(const uint8_t *)"ed\n", 3}};
    __wasi_size_t written = 0;
    __wasi_errno_t e = __wasi_fd_write(STDOUT, iovs, 2, &written);
    SAY("stdout gather-write", errno_name(e), num(written));
    WARN("stderr line");
    __wasi_iovec_t iov = {buf, sizeof buf};
    __wasi_size_t got = 0;
    SAY("read fd-99", errno_name(__wasi_fd_read(99, &iov, 1, &got)));
    SAY("write fd-99", errno_name(__wasi_fd_write(99, iovs, 2, &written)));
    return 0;
}
