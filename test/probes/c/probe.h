/*
 * Shared helpers of the C probes.
 *
 * Output goes straight to fd_write, one call per line and no stdio buffering, so that every
 * line printed before a trap or proc_exit reaches the host. Errno values are printed by their
 * witx names, taken from the numbers of wasi-libc's header (not from the host under test).
 */
#ifndef PROBE_H
#define PROBE_H

#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <wasi/api.h>

#define STDOUT 1
#define STDERR 2

/* Rights a probe asks for when it opens something; open_at narrows them to what may be had. */
#define ALL_RIGHTS ((__wasi_rights_t)0x3FFFFFFF) /* bits 0-29: every right of preview 1 */
#define READ_RIGHTS (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL | \
                     __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_READDIR)
#define WRITE_RIGHTS (READ_RIGHTS | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE)
/* What wasi-libc asks for when it opens a directory: everything but writing to it. */
#define DIR_RIGHTS (ALL_RIGHTS & ~(__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_DATASYNC | \
                                   __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE))

static inline void write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        __wasi_ciovec_t iov = {(const uint8_t *)data, len};
        __wasi_size_t written = 0;
        if (__wasi_fd_write(fd, &iov, 1, &written) != 0 || written == 0) return;
        data += written;
        len -= written;
    }
}

/* Joins its arguments with spaces into one line; the argument list ends with a null pointer. */
static inline void vline(int fd, const char *first, va_list rest) {
    char buf[1024];
    size_t len = 0;
    for (const char *part = first; part; part = va_arg(rest, const char *)) {
        size_t n = strlen(part);
        if (len + n + 2 > sizeof buf) n = sizeof buf - len - 2;
        if (len > 0) buf[len++] = ' ';
        memcpy(buf + len, part, n);
        len += n;
    }
    buf[len++] = '\n';
    write_all(fd, buf, len);
}

static inline void line_to(int fd, const char *first, ...) {
    va_list rest;
    va_start(rest, first);
    vline(fd, first, rest);
    va_end(rest);
}

#define SAY(...) line_to(STDOUT, __VA_ARGS__, (const char *)0)
#define WARN(...) line_to(STDERR, __VA_ARGS__, (const char *)0)

/* "ok" for success, else the errno's witx name. */
static inline const char *errno_name(__wasi_errno_t e) {
    static const char *const names[] = {
        [__WASI_ERRNO_SUCCESS] = "ok", [__WASI_ERRNO_2BIG] = "2big",
        [__WASI_ERRNO_ACCES] = "acces", [__WASI_ERRNO_ADDRINUSE] = "addrinuse",
        [__WASI_ERRNO_ADDRNOTAVAIL] = "addrnotavail", [__WASI_ERRNO_AFNOSUPPORT] = "afnosupport",
        [__WASI_ERRNO_AGAIN] = "again", [__WASI_ERRNO_ALREADY] = "already",
        [__WASI_ERRNO_BADF] = "badf", [__WASI_ERRNO_BADMSG] = "badmsg",
        [__WASI_ERRNO_BUSY] = "busy", [__WASI_ERRNO_CANCELED] = "canceled",
        [__WASI_ERRNO_CHILD] = "child", [__WASI_ERRNO_CONNABORTED] = "connaborted",
        [__WASI_ERRNO_CONNREFUSED] = "connrefused", [__WASI_ERRNO_CONNRESET] = "connreset",
        [__WASI_ERRNO_DEADLK] = "deadlk", [__WASI_ERRNO_DESTADDRREQ] = "destaddrreq",
        [__WASI_ERRNO_DOM] = "dom", [__WASI_ERRNO_DQUOT] = "dquot",
        [__WASI_ERRNO_EXIST] = "exist", [__WASI_ERRNO_FAULT] = "fault",
        [__WASI_ERRNO_FBIG] = "fbig", [__WASI_ERRNO_HOSTUNREACH] = "hostunreach",
        [__WASI_ERRNO_IDRM] = "idrm", [__WASI_ERRNO_ILSEQ] = "ilseq",
        [__WASI_ERRNO_INPROGRESS] = "inprogress", [__WASI_ERRNO_INTR] = "intr",
        [__WASI_ERRNO_INVAL] = "inval", [__WASI_ERRNO_IO] = "io",
        [__WASI_ERRNO_ISCONN] = "isconn", [__WASI_ERRNO_ISDIR] = "isdir",
        [__WASI_ERRNO_LOOP] = "loop", [__WASI_ERRNO_MFILE] = "mfile",
        [__WASI_ERRNO_MLINK] = "mlink", [__WASI_ERRNO_MSGSIZE] = "msgsize",
        [__WASI_ERRNO_MULTIHOP] = "multihop", [__WASI_ERRNO_NAMETOOLONG] = "nametoolong",
        [__WASI_ERRNO_NETDOWN] = "netdown", [__WASI_ERRNO_NETRESET] = "netreset",
        [__WASI_ERRNO_NETUNREACH] = "netunreach", [__WASI_ERRNO_NFILE] = "nfile",
        [__WASI_ERRNO_NOBUFS] = "nobufs", [__WASI_ERRNO_NODEV] = "nodev",
        [__WASI_ERRNO_NOENT] = "noent", [__WASI_ERRNO_NOEXEC] = "noexec",
        [__WASI_ERRNO_NOLCK] = "nolck", [__WASI_ERRNO_NOLINK] = "nolink",
        [__WASI_ERRNO_NOMEM] = "nomem", [__WASI_ERRNO_NOMSG] = "nomsg",
        [__WASI_ERRNO_NOPROTOOPT] = "noprotoopt", [__WASI_ERRNO_NOSPC] = "nospc",
        [__WASI_ERRNO_NOSYS] = "nosys", [__WASI_ERRNO_NOTCONN] = "notconn",
        [__WASI_ERRNO_NOTDIR] = "notdir", [__WASI_ERRNO_NOTEMPTY] = "notempty",
        [__WASI_ERRNO_NOTRECOVERABLE] = "notrecoverable", [__WASI_ERRNO_NOTSOCK] = "notsock",
        [__WASI_ERRNO_NOTSUP] = "notsup", [__WASI_ERRNO_NOTTY] = "notty",
        [__WASI_ERRNO_NXIO] = "nxio", [__WASI_ERRNO_OVERFLOW] = "overflow",
        [__WASI_ERRNO_OWNERDEAD] = "ownerdead", [__WASI_ERRNO_PERM] = "perm",
        [__WASI_ERRNO_PIPE] = "pipe", [__WASI_ERRNO_PROTO] = "proto",
        [__WASI_ERRNO_PROTONOSUPPORT] = "protonosupport", [__WASI_ERRNO_PROTOTYPE] = "prototype",
        [__WASI_ERRNO_RANGE] = "range", [__WASI_ERRNO_ROFS] = "rofs",
        [__WASI_ERRNO_SPIPE] = "spipe", [__WASI_ERRNO_SRCH] = "srch",
        [__WASI_ERRNO_STALE] = "stale", [__WASI_ERRNO_TIMEDOUT] = "timedout",
        [__WASI_ERRNO_TXTBSY] = "txtbsy", [__WASI_ERRNO_XDEV] = "xdev",
        [__WASI_ERRNO_NOTCAPABLE] = "notcapable",
    };
    if (e < sizeof names / sizeof names[0] && names[e]) return names[e];
    return "errno-out-of-range";
}

/* A step the probe relies on without reporting it: a failure still shows in the transcript. */
static inline void must(const char *what, __wasi_errno_t e) {
    if (e != 0) SAY("unexpected", what, errno_name(e));
}

static inline const char *filetype_name(__wasi_filetype_t t) {
    switch (t) {
    case __WASI_FILETYPE_BLOCK_DEVICE: return "block_device";
    case __WASI_FILETYPE_CHARACTER_DEVICE: return "character_device";
    case __WASI_FILETYPE_DIRECTORY: return "directory";
    case __WASI_FILETYPE_REGULAR_FILE: return "regular_file";
    case __WASI_FILETYPE_SOCKET_DGRAM: return "socket_dgram";
    case __WASI_FILETYPE_SOCKET_STREAM: return "socket_stream";
    case __WASI_FILETYPE_SYMBOLIC_LINK: return "symbolic_link";
    default: return "unknown";
    }
}

/* Decimal text of v in one of a few rotating buffers, so a line can hold several numbers. */
static inline const char *num(uint64_t v) {
    static char bufs[8][24];
    static unsigned next;
    char *end = bufs[next++ % 8] + 23, *p = end;
    *p = '\0';
    do { *--p = (char)('0' + v % 10); v /= 10; } while (v);
    return p;
}

/* The fd of the preopened directory whose guest name is `guest`, or -1. */
static inline int preopen_fd(const char *guest) {
    for (__wasi_fd_t fd = 3;; fd++) {
        __wasi_prestat_t prestat;
        if (__wasi_fd_prestat_get(fd, &prestat) != 0) return -1;
        char name[256];
        size_t len = prestat.u.dir.pr_name_len;
        if (len >= sizeof name || __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len) != 0) continue;
        name[len] = '\0';
        if (strcmp(name, guest) == 0) return (int)fd;
    }
}

/*
 * path_open with symlinks followed; returns the errno and stores the new fd in *out. Like
 * wasi-libc's open(), it asks only for rights the directory may hand down, so a refusal comes
 * from the path and not from the rights.
 */
static inline __wasi_errno_t open_at(int dir, const char *path, __wasi_oflags_t oflags,
                                     __wasi_rights_t rights, __wasi_fdflags_t fdflags,
                                     __wasi_fd_t *out) {
    __wasi_fdstat_t stat;
    if (__wasi_fd_fdstat_get(dir, &stat) == 0) rights &= stat.fs_rights_inheriting;
    return __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, oflags, rights,
                            rights, fdflags, out);
}

/* Reads up to cap-1 bytes at the fd's offset into buf as a C string; returns the errno. */
static inline __wasi_errno_t read_text(__wasi_fd_t fd, char *buf, size_t cap) {
    __wasi_iovec_t iov = {(uint8_t *)buf, cap - 1};
    __wasi_size_t got = 0;
    __wasi_errno_t e = __wasi_fd_read(fd, &iov, 1, &got);
    buf[e == 0 ? got : 0] = '\0';
    return e;
}

static inline __wasi_errno_t write_text(__wasi_fd_t fd, const char *text) {
    __wasi_ciovec_t iov = {(const uint8_t *)text, strlen(text)};
    __wasi_size_t written = 0;
    return __wasi_fd_write(fd, &iov, 1, &written);
}

#endif
