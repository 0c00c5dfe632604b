/* Opens one file over and over until the host refuses, then shows that closing frees a slot. */
#include "probe.h"

int main(void) {
    int data = preopen_fd("/data");
    if (data < 0) { SAY("no /data preopen"); return 2; }
    __wasi_fd_t fds[4096];
    unsigned opened = 0;
    __wasi_errno_t e = 0;
    while (opened < sizeof fds / sizeof fds[0]) {
        e = open_at(data, "file.txt", __WASI_OFLAGS_CREAT, READ_RIGHTS, 0, &fds[opened]);
        if (e != 0) break;
        opened++;
    }
    SAY("opened", num(opened), "then", errno_name(e));
    if (opened == 0) return 1;
    must("fd_close", __wasi_fd_close(fds[--opened]));
    SAY("after close", errno_name(open_at(data, "file.txt", 0, READ_RIGHTS, 0, &fds[opened])));
    return 0;
}
