/*
 * A read-only mount at /ro (file.txt, link -> file.txt, dir/inner.txt, empty/) next to a
 * writable one at /rw. Reads work; every change is refused.
 *
 * Lines: "read ..." must be ok, "refused <op> <errno>" must be rofs, "refused-fd <op> <errno>"
 * (a change through an fd that could only be opened for reading) must fail, "rw ..." is ok.
 */
#include "probe.h"

static int ro, rw;

static void reads(void) {
    __wasi_fd_t fd;
    char text[64] = "";
    __wasi_errno_t e = open_at(ro, "file.txt", 0, READ_RIGHTS, 0, &fd);
    if (e == 0) e = read_text(fd, text, sizeof text);
    SAY("read open-read file.txt", errno_name(e), text);
    if (e == 0) must("fd_close", __wasi_fd_close(fd));

    e = open_at(ro, "link", 0, READ_RIGHTS, 0, &fd);
    SAY("read open-read link", errno_name(e));
    if (e == 0) must("fd_close", __wasi_fd_close(fd));

    __wasi_filestat_t st;
    SAY("read stat dir/inner.txt", errno_name(__wasi_path_filestat_get(ro, 0, "dir/inner.txt", &st)));
    char target[64];
    __wasi_size_t used = 0;
    SAY("read readlink link", errno_name(__wasi_path_readlink(ro, "link", (uint8_t *)target, sizeof target, &used)));

    e = open_at(ro, "dir", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, &fd);
    uint8_t buf[1024];
    if (e == 0) {
        e = __wasi_fd_readdir(fd, buf, sizeof buf, __WASI_DIRCOOKIE_START, &used);
        must("fd_close", __wasi_fd_close(fd));
    }
    SAY("read readdir dir", errno_name(e));
}

static void refused_paths(void) {
    __wasi_fd_t fd;
    SAY("refused create", errno_name(open_at(ro, "new.txt", __WASI_OFLAGS_CREAT, WRITE_RIGHTS, 0, &fd)));
    SAY("refused create-without-write-rights",
        errno_name(open_at(ro, "new2.txt", __WASI_OFLAGS_CREAT, READ_RIGHTS, 0, &fd)));
    SAY("refused create-in-subdir",
        errno_name(open_at(ro, "dir/new.txt", __WASI_OFLAGS_CREAT, WRITE_RIGHTS, 0, &fd)));
    SAY("refused open-write", errno_name(open_at(ro, "file.txt", 0, WRITE_RIGHTS, 0, &fd)));
    SAY("refused open-write-through-link", errno_name(open_at(ro, "link", 0, WRITE_RIGHTS, 0, &fd)));
    SAY("refused open-trunc", errno_name(open_at(ro, "file.txt", __WASI_OFLAGS_TRUNC, READ_RIGHTS, 0, &fd)));
    SAY("refused mkdir", errno_name(__wasi_path_create_directory(ro, "newdir")));
    SAY("refused rmdir", errno_name(__wasi_path_remove_directory(ro, "empty")));
    SAY("refused unlink", errno_name(__wasi_path_unlink_file(ro, "file.txt")));
    SAY("refused unlink-symlink", errno_name(__wasi_path_unlink_file(ro, "link")));
    SAY("refused rename", errno_name(__wasi_path_rename(ro, "file.txt", ro, "moved.txt")));
    SAY("refused rename-dir", errno_name(__wasi_path_rename(ro, "dir", ro, "moved-dir")));
    SAY("refused link", errno_name(__wasi_path_link(ro, 0, "file.txt", ro, "hard.txt")));
    SAY("refused symlink", errno_name(__wasi_path_symlink("file.txt", ro, "newlink")));
    SAY("refused set-times", errno_name(__wasi_path_filestat_set_times(
        ro, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "file.txt", 0, 0,
        __WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW)));
    SAY("refused set-times-dir", errno_name(__wasi_path_filestat_set_times(
        ro, 0, "dir", 0, 0, __WASI_FSTFLAGS_MTIM_NOW)));
    SAY("refused fd-set-times-preopen", errno_name(__wasi_fd_filestat_set_times(
        ro, 0, 0, __WASI_FSTFLAGS_MTIM_NOW)));
}

/* The file can only be opened for reading; every change through that fd must still fail. */
static void refused_through_read_fd(void) {
    __wasi_fd_t fd;
    /* A host may hand out an fd without write rights, or refuse to open one that asks for them. */
    __wasi_errno_t e = open_at(ro, "file.txt", 0, ALL_RIGHTS, 0, &fd);
    if (e != 0) e = open_at(ro, "file.txt", 0, READ_RIGHTS, 0, &fd);
    if (e != 0) { SAY("read open-for-fd-checks", errno_name(e)); return; }
    SAY("refused-fd write", errno_name(write_text(fd, "changed")));
    __wasi_ciovec_t iov = {(const uint8_t *)"X", 1};
    __wasi_size_t n;
    SAY("refused-fd pwrite", errno_name(__wasi_fd_pwrite(fd, &iov, 1, 0, &n)));
    SAY("refused-fd set-size", errno_name(__wasi_fd_filestat_set_size(fd, 1)));
    SAY("refused-fd allocate", errno_name(__wasi_fd_allocate(fd, 0, 4096)));
    SAY("refused-fd set-times", errno_name(__wasi_fd_filestat_set_times(
        fd, 0, 0, __WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW)));
    must("fd_close", __wasi_fd_close(fd));
}

static void across_mounts(void) {
    __wasi_fd_t fd;
    __wasi_errno_t e = open_at(rw, "ok.txt", __WASI_OFLAGS_CREAT, WRITE_RIGHTS, 0, &fd);
    if (e == 0) e = write_text(fd, "writable");
    SAY("rw create", errno_name(e));
    SAY("refused-cross rename-out-of-ro",
        errno_name(__wasi_path_rename(ro, "file.txt", rw, "file.txt")));
    SAY("refused-cross rename-into-ro",
        errno_name(__wasi_path_rename(rw, "ok.txt", ro, "ok.txt")));
    SAY("refused-cross link-into-ro",
        errno_name(__wasi_path_link(rw, 0, "ok.txt", ro, "ok.txt")));
}

int main(void) {
    ro = preopen_fd("/ro");
    rw = preopen_fd("/rw");
    if (ro < 0 || rw < 0) { SAY("needs /ro and /rw preopened"); return 2; }
    reads();
    refused_paths();
    refused_through_read_fd();
    across_mounts();
    SAY("done");
    return 0;
}
