/* WASI sockets are not offered: every sock_* call fails cleanly on any kind of fd. */
#include "probe.h"

static void try_fd(const char *label, __wasi_fd_t fd) {
    __wasi_fd_t accepted;
    SAY("sock_accept", label, errno_name(__wasi_sock_accept(fd, 0, &accepted)));
    uint8_t buf[16];
    __wasi_iovec_t iov = {buf, sizeof buf};
    __wasi_size_t n;
    __wasi_roflags_t roflags;
    SAY("sock_recv", label, errno_name(__wasi_sock_recv(fd, &iov, 1, 0, &n, &roflags)));
    __wasi_ciovec_t ciov = {buf, sizeof buf};
    SAY("sock_send", label, errno_name(__wasi_sock_send(fd, &ciov, 1, 0, &n)));
    SAY("sock_shutdown", label, errno_name(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_RD | __WASI_SDFLAGS_WR)));
}

int main(void) {
    try_fd("stdin", 0);
    try_fd("stdout", 1);
    int data = preopen_fd("/data");
    if (data >= 0) try_fd("preopen", (__wasi_fd_t)data);
    try_fd("unopened", 99);
    SAY("done");
    return 0;
}
