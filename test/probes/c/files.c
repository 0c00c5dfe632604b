/* File descriptors on a writable mount at /data: every fd_* call on regular files. */
#include "probe.h"

static int data;

static __wasi_fd_t open_file(const char *label, const char *path, __wasi_oflags_t oflags,
                             __wasi_fdflags_t fdflags) {
    __wasi_fd_t fd = (__wasi_fd_t)-1;
    SAY("open", label, errno_name(open_at(data, path, oflags, ALL_RIGHTS, fdflags, &fd)));
    return fd;
}

static uint64_t size_of(__wasi_fd_t fd) {
    __wasi_filestat_t st;
    return __wasi_fd_filestat_get(fd, &st) == 0 ? st.size : (uint64_t)-1;
}

static void prestats(void) {
    __wasi_prestat_t prestat;
    __wasi_errno_t e = __wasi_fd_prestat_get(data, &prestat);
    char name[64] = "";
    if (e == 0 && prestat.u.dir.pr_name_len < sizeof name)
        e = __wasi_fd_prestat_dir_name(data, (uint8_t *)name, prestat.u.dir.pr_name_len);
    SAY("prestat data", errno_name(e), prestat.tag == __WASI_PREOPENTYPE_DIR ? "dir" : "not-dir",
        name);
    SAY("prestat stdin", errno_name(__wasi_fd_prestat_get(0, &prestat)));
    SAY("prestat past-preopens", errno_name(__wasi_fd_prestat_get(data + 1, &prestat)));
}

static void read_write_seek(void) {
    __wasi_fd_t fd = open_file("create", "f.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, 0);
    __wasi_fd_t again;
    SAY("open create-excl-existing",
        errno_name(open_at(data, "f.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, WRITE_RIGHTS, 0, &again)));
    SAY("write", errno_name(write_text(fd, "hello world")));
    __wasi_filesize_t pos = 0;
    SAY("tell", errno_name(__wasi_fd_tell(fd, &pos)), num(pos));
    SAY("seek set-0", errno_name(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos)), num(pos));
    char text[64];
    SAY("read", errno_name(read_text(fd, text, sizeof text)), text);

    __wasi_ciovec_t upper = {(const uint8_t *)"HELLO", 5};
    __wasi_size_t n = 0;
    SAY("pwrite at-0", errno_name(__wasi_fd_pwrite(fd, &upper, 1, 0, &n)), num(n));
    __wasi_iovec_t piece = {(uint8_t *)text, 5};
    __wasi_errno_t e = __wasi_fd_pread(fd, &piece, 1, 6, &n);
    text[n] = '\0';
    SAY("pread at-6", errno_name(e), text);
    must("fd_tell", __wasi_fd_tell(fd, &pos));
    SAY("tell after-pread-pwrite", num(pos));

    SAY("seek end-minus-5", errno_name(__wasi_fd_seek(fd, -5, __WASI_WHENCE_END, &pos)), num(pos));
    SAY("seek cur-plus-2", errno_name(__wasi_fd_seek(fd, 2, __WASI_WHENCE_CUR, &pos)), num(pos));
    SAY("seek before-start", errno_name(__wasi_fd_seek(fd, -100, __WASI_WHENCE_SET, &pos)));
    must("fd_seek", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    SAY("content", errno_name(read_text(fd, text, sizeof text)), text);

    __wasi_filestat_t st;
    e = __wasi_fd_filestat_get(fd, &st);
    SAY("filestat", errno_name(e), filetype_name(st.filetype), "size", num(st.size),
        "nlink", num(st.nlink));

    SAY("set_size 4", errno_name(__wasi_fd_filestat_set_size(fd, 4)), num(size_of(fd)));
    must("fd_seek", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    SAY("content", errno_name(read_text(fd, text, sizeof text)), text);
    /* Growing fills with zero bytes: read them back as a count of zeros. */
    SAY("set_size 8", errno_name(__wasi_fd_filestat_set_size(fd, 8)), num(size_of(fd)));
    uint8_t grown[16];
    __wasi_iovec_t all = {grown, sizeof grown};
    must("fd_pread", __wasi_fd_pread(fd, &all, 1, 0, &n));
    int zeros = 0;
    for (size_t i = 4; i < n; i++) zeros += grown[i] == 0;
    SAY("grown tail zeros", num((uint64_t)zeros));

    SAY("allocate 0-100", errno_name(__wasi_fd_allocate(fd, 0, 100)), num(size_of(fd)));
    SAY("allocate within", errno_name(__wasi_fd_allocate(fd, 0, 10)), num(size_of(fd)));
    SAY("sync", errno_name(__wasi_fd_sync(fd)));
    SAY("datasync", errno_name(__wasi_fd_datasync(fd)));
    SAY("advise willneed", errno_name(__wasi_fd_advise(fd, 0, 100, __WASI_ADVICE_WILLNEED)));
    SAY("advise bad-advice", errno_name(__wasi_fd_advise(fd, 0, 100, 99)));

    /* Whole seconds, so a host that keeps milliseconds still round-trips them exactly. */
    const uint64_t atim = 1500000000ull * 1000000000, mtim = 1600000000ull * 1000000000;
    e = __wasi_fd_filestat_set_times(fd, atim, mtim, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM);
    must("fd_filestat_get", __wasi_fd_filestat_get(fd, &st));
    SAY("set_times", errno_name(e), st.atim == atim ? "atim-set" : "atim-wrong",
        st.mtim == mtim ? "mtim-set" : "mtim-wrong");
    e = __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW);
    must("fd_filestat_get", __wasi_fd_filestat_get(fd, &st));
    SAY("set_times mtim-now", errno_name(e), st.mtim > mtim ? "mtim-now" : "mtim-old",
        st.atim == atim ? "atim-kept" : "atim-changed");
    SAY("set_times conflicting-flags", errno_name(__wasi_fd_filestat_set_times(
        fd, 0, 0, __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW)));

    SAY("close", errno_name(__wasi_fd_close(fd)));
    SAY("close again", errno_name(__wasi_fd_close(fd)));
    SAY("write closed", errno_name(write_text(fd, "x")));

    fd = open_file("truncate", "f.txt", __WASI_OFLAGS_TRUNC, 0);
    SAY("size after-truncate", num(size_of(fd)));
    must("fd_close", __wasi_fd_close(fd));
}

static void append_and_fdstat(void) {
    __wasi_fd_t fd = open_file("append", "log.txt", __WASI_OFLAGS_CREAT, __WASI_FDFLAGS_APPEND);
    __wasi_fdstat_t stat;
    __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &stat);
    SAY("fdstat append-fd", errno_name(e), filetype_name(stat.fs_filetype),
        stat.fs_flags & __WASI_FDFLAGS_APPEND ? "append" : "no-append",
        stat.fs_rights_base & __WASI_RIGHTS_FD_WRITE ? "can-write" : "no-write");
    must("write", write_text(fd, "one,"));
    __wasi_filesize_t pos;
    must("fd_seek", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    must("write", write_text(fd, "two"));
    must("fd_seek", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    char text[64];
    SAY("append content", errno_name(read_text(fd, text, sizeof text)), text);
    must("fd_close", __wasi_fd_close(fd));

    SAY("fdstat data-dir", errno_name(__wasi_fd_fdstat_get(data, &stat)),
        filetype_name(stat.fs_filetype));
    __wasi_fd_t missing;
    SAY("open missing", errno_name(open_at(data, "missing.txt", 0, READ_RIGHTS, 0, &missing)));
    SAY("open file-as-directory",
        errno_name(open_at(data, "log.txt", __WASI_OFLAGS_DIRECTORY, READ_RIGHTS, 0, &missing)));
}

/* Lists a directory with a buffer too small for all entries, resuming from the cookies. */
static void readdir_listing(void) {
    __wasi_errno_t e = __wasi_path_create_directory(data, "list");
    __wasi_fd_t dir, fd;
    e = e ? e : open_at(data, "list", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, &dir);
    SAY("open list-dir", errno_name(e));
    const char *files[] = {"alpha", "beta", "gamma-with-a-longer-name"};
    for (int i = 0; i < 3; i++) {
        must("create", open_at(dir, files[i], __WASI_OFLAGS_CREAT, ALL_RIGHTS, 0, &fd));
        must("fd_close", __wasi_fd_close(fd));
    }
    must("path_create_directory", __wasi_path_create_directory(dir, "delta"));

    char names[8][64];
    int count = 0;
    __wasi_dircookie_t cookie = __WASI_DIRCOOKIE_START;
    uint8_t buf[56];
    for (int rounds = 0; rounds < 32; rounds++) {
        __wasi_size_t used = 0;
        e = __wasi_fd_readdir(dir, buf, sizeof buf, cookie, &used);
        if (e != 0) break;
        size_t off = 0;
        /* A buffer that cannot hold the next whole entry ends this round; resume from its cookie. */
        while (off + sizeof(__wasi_dirent_t) <= used) {
            __wasi_dirent_t ent;
            memcpy(&ent, buf + off, sizeof ent);
            if (off + sizeof ent + ent.d_namlen > used) break;
            /* Hosts differ on whether they list "." and "..": leave them out. */
            int dots = (ent.d_namlen == 1 && buf[off + sizeof ent] == '.') ||
                       (ent.d_namlen == 2 && memcmp(buf + off + sizeof ent, "..", 2) == 0);
            if (!dots && count < 8) {
                size_t len = ent.d_namlen < 40 ? ent.d_namlen : 40;
                memcpy(names[count], buf + off + sizeof ent, len);
                names[count][len] = ':';
                strcpy(names[count] + len + 1, filetype_name(ent.d_type));
                count++;
            }
            cookie = ent.d_next;
            off += sizeof ent + ent.d_namlen;
        }
        if (used < sizeof buf) break;
    }
    /* Directory order is the host file system's: sort so the transcript is deterministic. */
    for (int i = 1; i < count; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char tmp[64];
            strcpy(tmp, names[j]);
            strcpy(names[j], names[j - 1]);
            strcpy(names[j - 1], tmp);
        }
    SAY("readdir", errno_name(e), "entries", num((uint64_t)count));
    for (int i = 0; i < count; i++) SAY("entry", names[i]);
    must("open", open_at(dir, "alpha", 0, ALL_RIGHTS, 0, &fd));
    __wasi_size_t used = 0;
    SAY("readdir on-file", errno_name(__wasi_fd_readdir(fd, buf, sizeof buf, 0, &used)));
    must("fd_close", __wasi_fd_close(fd));
    must("fd_close", __wasi_fd_close(dir));
}

static void renumber(void) {
    __wasi_fd_t first = open_file("renumber-first", "first.txt", __WASI_OFLAGS_CREAT, 0);
    __wasi_fd_t second = open_file("renumber-second", "second.txt", __WASI_OFLAGS_CREAT, 0);
    must("write", write_text(first, "first"));
    must("write", write_text(second, "second"));
    SAY("renumber", errno_name(__wasi_fd_renumber(first, second)));
    char text[64];
    __wasi_iovec_t iov = {(uint8_t *)text, sizeof text - 1};
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_fd_pread(second, &iov, 1, 0, &n);
    text[n] = '\0';
    SAY("renumbered target reads", errno_name(e), text);
    SAY("renumbered source", errno_name(__wasi_fd_close(first)));
    SAY("renumber bad-source", errno_name(__wasi_fd_renumber(first, second)));
    must("fd_close", __wasi_fd_close(second));
}

int main(void) {
    data = preopen_fd("/data");
    if (data < 0) { SAY("no /data preopen"); return 1; }
    prestats();
    read_write_seek();
    append_and_fdstat();
    readdir_listing();
    renumber();
    SAY("done");
    return 0;
}
