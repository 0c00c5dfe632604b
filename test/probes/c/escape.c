/*
 * Tries every way out of the mount at /data and prints the errno of each attempt.
 *
 * The test lays out, next to the mount, a directory `outside` (secret.txt, dir/, link ->
 * secret.txt) and plants host symlinks in the mount: up -> ../outside, up-file ->
 * ../outside/secret.txt, abs -> <absolute path of outside>, etc -> /etc, chain -> up and
 * sub/deep -> ../../outside. argv[1] is the absolute host path of `outside`.
 *
 * Lines: "escape <op> <path> <errno>" must all be notcapable; "control ..." must be ok;
 * "guest-symlink <name> <errno>" may be ok or notcapable, and "via-guest ..." lines must then
 * fail. Writes only ever aim at the test's own temporary directories, never at the
 * machine's /etc, so a broken host cannot damage it.
 */
#include <stdlib.h>
#include "probe.h"

static int data;
static char outside_abs[512];

/* The absolute host path of `outside`, followed by `rest`. */
static const char *abs_path(const char *rest) {
    static char bufs[4][600];
    static unsigned next;
    char *buf = bufs[next++ % 4];
    strcpy(buf, outside_abs);
    strcat(buf, rest);
    return buf;
}

static void try_read(const char *kind, const char *path) {
    __wasi_fd_t fd;
    __wasi_errno_t e = open_at(data, path, 0, READ_RIGHTS, 0, &fd);
    if (e == 0) {
        char text[64];
        must("fd_read", read_text(fd, text, sizeof text));
        must("fd_close", __wasi_fd_close(fd));
    }
    SAY(kind, "open-read", path, errno_name(e));
}

static void try_stat(const char *kind, const char *path) {
    __wasi_filestat_t st;
    SAY(kind, "stat", path, errno_name(__wasi_path_filestat_get(
        data, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, &st)));
}

/* Opens a directory and, should that succeed, lists it: the listing itself would be a leak. */
static void try_opendir(const char *kind, const char *path) {
    __wasi_fd_t fd;
    __wasi_errno_t e = open_at(data, path, __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, &fd);
    if (e != 0) { SAY(kind, "opendir", path, errno_name(e)); return; }
    uint8_t buf[4096];
    __wasi_size_t used = 0;
    e = __wasi_fd_readdir(fd, buf, sizeof buf, __WASI_DIRCOOKIE_START, &used);
    SAY(kind, "opendir", path, "ok", "readdir", errno_name(e), "bytes", num(used));
    must("fd_close", __wasi_fd_close(fd));
}

static void try_create(const char *kind, const char *path) {
    __wasi_fd_t fd;
    __wasi_errno_t e = open_at(data, path, __WASI_OFLAGS_CREAT, WRITE_RIGHTS, 0, &fd);
    if (e == 0) {
        must("fd_write", write_text(fd, "escaped"));
        must("fd_close", __wasi_fd_close(fd));
    }
    SAY(kind, "create", path, errno_name(e));
}

static void try_truncate(const char *kind, const char *path) {
    __wasi_fd_t fd;
    __wasi_errno_t e = open_at(data, path, __WASI_OFLAGS_TRUNC, WRITE_RIGHTS, 0, &fd);
    if (e == 0) must("fd_close", __wasi_fd_close(fd));
    SAY(kind, "open-write-trunc", path, errno_name(e));
}

static const char *const read_routes[] = {
    "../outside/secret.txt", "/etc/passwd", "up/secret.txt", "up-file", "abs/secret.txt",
    "etc/passwd", "chain/secret.txt", "sub/deep/secret.txt", "sub/../../outside/secret.txt",
    "./../outside/secret.txt", "up/link", 0,
};
static const char *const dir_routes[] = {
    "..", "../outside", "up", "abs", "etc", "chain", "sub/deep", "/", "sub/../..", 0,
};
static const char *const create_routes[] = {
    "../outside/new.txt", "up/new.txt", "abs/new.txt", "chain/new.txt", "sub/deep/new.txt",
    "up/dir/new.txt", 0,
};
static const char *const existing_outside[] = {
    "../outside/secret.txt", "up/secret.txt", "up-file", "abs/secret.txt", "chain/secret.txt", 0,
};

static void escapes_by_path(void) {
    for (int i = 0; read_routes[i]; i++) try_read("escape", read_routes[i]);
    try_read("escape", abs_path("/secret.txt"));
    SAY("escape", "open-read-nofollow", "up/secret.txt", errno_name(__wasi_path_open(
        data, 0, "up/secret.txt", 0, READ_RIGHTS, READ_RIGHTS, 0, &(__wasi_fd_t){0})));
    for (int i = 0; read_routes[i]; i++) try_stat("escape", read_routes[i]);
    for (int i = 0; dir_routes[i]; i++) try_opendir("escape", dir_routes[i]);
    try_opendir("escape", abs_path(""));
    for (int i = 0; dir_routes[i]; i++) try_stat("escape", dir_routes[i]);

    for (int i = 0; create_routes[i]; i++) try_create("escape", create_routes[i]);
    try_create("escape", abs_path("/new.txt"));
    for (int i = 0; existing_outside[i]; i++) try_truncate("escape", existing_outside[i]);

    const char *mkdirs[] = {"../outside/newdir", "up/newdir", "abs/newdir", "sub/deep/newdir",
                            abs_path("/newdir"), 0};
    for (int i = 0; mkdirs[i]; i++)
        SAY("escape", "mkdir", mkdirs[i], errno_name(__wasi_path_create_directory(data, mkdirs[i])));
    const char *rmdirs[] = {"../outside/dir", "up/dir", "abs/dir", "sub/deep/dir", 0};
    for (int i = 0; rmdirs[i]; i++)
        SAY("escape", "rmdir", rmdirs[i], errno_name(__wasi_path_remove_directory(data, rmdirs[i])));
    const char *unlinks[] = {"../outside/secret.txt", "up/secret.txt", "abs/secret.txt",
                             "chain/secret.txt", "up/link", abs_path("/secret.txt"), 0};
    for (int i = 0; unlinks[i]; i++)
        SAY("escape", "unlink", unlinks[i], errno_name(__wasi_path_unlink_file(data, unlinks[i])));
    for (int i = 0; existing_outside[i]; i++)
        SAY("escape", "set-times", existing_outside[i], errno_name(__wasi_path_filestat_set_times(
            data, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, existing_outside[i], 0, 0,
            __WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW)));
    const char *readlinks[] = {"../outside/link", "up/link", "abs/link", 0};
    for (int i = 0; readlinks[i]; i++) {
        char target[64];
        __wasi_size_t used;
        SAY("escape", "readlink", readlinks[i], errno_name(__wasi_path_readlink(
            data, readlinks[i], (uint8_t *)target, sizeof target, &used)));
    }
    const char *symlinks_outside[] = {"../outside/planted", "up/planted", "abs/planted", 0};
    for (int i = 0; symlinks_outside[i]; i++)
        SAY("escape", "symlink-at", symlinks_outside[i],
            errno_name(__wasi_path_symlink("secret.txt", data, symlinks_outside[i])));
}

static void escapes_by_rename_and_link(void) {
    const char *outward[] = {"../outside/x", "up/x", "abs/x", "sub/deep/x", abs_path("/x"), 0};
    for (int i = 0; outward[i]; i++) {
        SAY("escape", "rename-out", outward[i],
            errno_name(__wasi_path_rename(data, "inside.txt", data, outward[i])));
        SAY("escape", "link-out", outward[i],
            errno_name(__wasi_path_link(data, 0, "inside.txt", data, outward[i])));
    }
    const char *inward[] = {"../outside/secret.txt", "up/secret.txt", "abs/secret.txt",
                            "chain/secret.txt", abs_path("/secret.txt"), 0};
    for (int i = 0; inward[i]; i++) {
        SAY("escape", "rename-in", inward[i],
            errno_name(__wasi_path_rename(data, inward[i], data, "stolen.txt")));
        SAY("escape", "link-in", inward[i],
            errno_name(__wasi_path_link(data, 0, inward[i], data, "stolen.txt")));
    }
    /* Following the planted file link hard-links its target, which lies outside. */
    SAY("escape", "link-in-follow", "up-file", errno_name(__wasi_path_link(
        data, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "up-file", data, "stolen.txt")));
    SAY("escape", "rename-dir-out", "up/sub", errno_name(__wasi_path_rename(data, "sub", data, "up/sub")));
}

/* A directory fd below the mount root must not lead further out than the mount does. */
static void escapes_from_subdirectory_fd(void) {
    __wasi_fd_t sub;
    __wasi_errno_t e = open_at(data, "sub", __WASI_OFLAGS_DIRECTORY, DIR_RIGHTS, 0, &sub);
    SAY("control", "opendir", "sub", errno_name(e));
    if (e != 0) return;
    const char *routes[] = {"../../outside/secret.txt", "deep/secret.txt", "../up/secret.txt", 0};
    for (int i = 0; routes[i]; i++) {
        __wasi_fd_t fd;
        SAY("escape", "subdir-open-read", routes[i],
            errno_name(open_at(sub, routes[i], 0, READ_RIGHTS, 0, &fd)));
    }
    __wasi_fd_t fd;
    SAY("escape", "subdir-create", "../../outside/new.txt", errno_name(open_at(
        sub, "../../outside/new.txt", __WASI_OFLAGS_CREAT, WRITE_RIGHTS, 0, &fd)));
    must("fd_close", __wasi_fd_close(sub));
}

/* Symlinks the guest makes itself: creating them may be allowed, following them out is not. */
static void escapes_by_guest_symlinks(void) {
    struct { const char *name, *target, *probe_path; } links[] = {
        {"mine", "../outside", "mine/secret.txt"},
        {"mine2", "/etc", "mine2/passwd"},
        {"mine3", outside_abs, "mine3/secret.txt"},
        {"mine-file", "../outside/secret.txt", "mine-file"},
        {"sub/mine-deep", "../../outside", "sub/mine-deep/secret.txt"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        SAY("guest-symlink", links[i].name,
            errno_name(__wasi_path_symlink(links[i].target, data, links[i].name)));
        try_read("via-guest", links[i].probe_path);
        try_stat("via-guest", links[i].probe_path);
    }
    try_create("via-guest", "mine/new.txt");
    try_truncate("via-guest", "mine-file");
    try_opendir("via-guest", "mine");
}

/* Legitimate paths: the refusals above must not come from a host that refuses everything. */
static void controls(void) {
    const char *reads[] = {"inside.txt", "./inside.txt", "sub/../inside.txt", "sub/file.txt",
                           "inner/file.txt", 0};
    for (int i = 0; reads[i]; i++) try_read("control", reads[i]);
    __wasi_filestat_t st;
    __wasi_errno_t e = __wasi_path_filestat_get(data, 0, "up", &st);
    SAY("control", "stat-nofollow", "up", errno_name(e), filetype_name(st.filetype));
    try_opendir("control", ".");
    try_create("control", "sub/created.txt");
    const char *planted[] = {"up", "abs", "etc", 0};
    for (int i = 0; planted[i]; i++) {
        char target[512];
        __wasi_size_t used = 0;
        e = __wasi_path_readlink(data, planted[i], (uint8_t *)target, sizeof target - 1, &used);
        target[e == 0 ? used : 0] = '\0';
        SAY("readlink", planted[i], errno_name(e), e == 0 ? target : "-");
    }
}

int main(int argc, char **argv) {
    data = preopen_fd("/data");
    if (data < 0 || argc < 2 || strlen(argv[1]) >= sizeof outside_abs) {
        SAY("usage: escape OUTSIDE-ABSOLUTE-PATH, with /data preopened");
        return 2;
    }
    strcpy(outside_abs, argv[1]);
    controls();
    escapes_by_path();
    escapes_by_rename_and_link();
    escapes_from_subdirectory_fd();
    escapes_by_guest_symlinks();
    SAY("done");
    return 0;
}
