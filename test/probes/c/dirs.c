/* Path operations on a writable mount at /data: directories, renames, links and times. */
#include "probe.h"

static int data;

static void create_file(const char *path, const char *text) {
    __wasi_fd_t fd;
    __wasi_errno_t e = open_at(data, path, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, ALL_RIGHTS, 0, &fd);
    if (e == 0) e = write_text(fd, text);
    if (e == 0) e = __wasi_fd_close(fd);
    SAY("create", path, errno_name(e));
}

/* Prints the type (and size of regular files) that path_filestat_get sees. */
static void stat_path(const char *label, const char *path, __wasi_lookupflags_t flags) {
    __wasi_filestat_t st;
    __wasi_errno_t e = __wasi_path_filestat_get(data, flags, path, &st);
    if (e != 0) { SAY("stat", label, path, errno_name(e)); return; }
    if (st.filetype == __WASI_FILETYPE_REGULAR_FILE)
        SAY("stat", label, path, "ok", filetype_name(st.filetype), "size", num(st.size),
            "nlink", num(st.nlink));
    else
        SAY("stat", label, path, "ok", filetype_name(st.filetype));
}

static void read_through(const char *path) {
    __wasi_fd_t fd;
    char text[64] = "";
    __wasi_errno_t e = open_at(data, path, 0, READ_RIGHTS, 0, &fd);
    if (e == 0) e = read_text(fd, text, sizeof text);
    if (e == 0) must("fd_close", __wasi_fd_close(fd));
    SAY("read", path, errno_name(e), e == 0 ? text : "-");
}

static void readlink(const char *path) {
    char target[64] = "";
    __wasi_size_t used = 0;
    __wasi_errno_t e = __wasi_path_readlink(data, path, (uint8_t *)target, sizeof target - 1, &used);
    target[e == 0 ? used : 0] = '\0';
    SAY("readlink", path, errno_name(e), e == 0 ? target : "-");
}

int main(void) {
    data = preopen_fd("/data");
    if (data < 0) { SAY("no /data preopen"); return 1; }

    SAY("mkdir d", errno_name(__wasi_path_create_directory(data, "d")));
    SAY("mkdir d again", errno_name(__wasi_path_create_directory(data, "d")));
    SAY("mkdir d/e", errno_name(__wasi_path_create_directory(data, "d/e")));
    SAY("mkdir missing-parent", errno_name(__wasi_path_create_directory(data, "nope/e")));
    create_file("d/f.txt", "payload");
    stat_path("follow", "d", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
    SAY("rmdir non-empty", errno_name(__wasi_path_remove_directory(data, "d")));
    SAY("rmdir file", errno_name(__wasi_path_remove_directory(data, "d/f.txt")));
    SAY("unlink directory", errno_name(__wasi_path_unlink_file(data, "d/e")));
    SAY("unlink missing", errno_name(__wasi_path_unlink_file(data, "d/missing")));
    SAY("rmdir d/e", errno_name(__wasi_path_remove_directory(data, "d/e")));

    SAY("rename file", errno_name(__wasi_path_rename(data, "d/f.txt", data, "g.txt")));
    stat_path("follow", "d/f.txt", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
    read_through("g.txt");
    SAY("rename missing", errno_name(__wasi_path_rename(data, "d/f.txt", data, "h.txt")));
    SAY("rename dir", errno_name(__wasi_path_rename(data, "d", data, "d2")));
    create_file("over.txt", "old");
    SAY("rename over-existing", errno_name(__wasi_path_rename(data, "g.txt", data, "over.txt")));
    read_through("over.txt");

    SAY("link", errno_name(__wasi_path_link(data, 0, "over.txt", data, "hard.txt")));
    stat_path("follow", "hard.txt", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
    SAY("link onto-existing", errno_name(__wasi_path_link(data, 0, "over.txt", data, "hard.txt")));

    SAY("symlink", errno_name(__wasi_path_symlink("over.txt", data, "s")));
    SAY("symlink to-dir", errno_name(__wasi_path_symlink("d2", data, "sd")));
    readlink("s");
    readlink("over.txt");
    stat_path("nofollow", "s", 0);
    stat_path("follow", "s", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
    read_through("s");
    create_file("sd/inside.txt", "via-link");
    read_through("d2/inside.txt");
    SAY("symlink dangling", errno_name(__wasi_path_symlink("nowhere", data, "dangling")));
    stat_path("nofollow", "dangling", 0);
    stat_path("follow", "dangling", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);

    /* Whole seconds, so a host that keeps milliseconds still round-trips them exactly. */
    const uint64_t atim = 1500000000ull * 1000000000, mtim = 1600000000ull * 1000000000;
    __wasi_errno_t e = __wasi_path_filestat_set_times(data, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
        "over.txt", atim, mtim, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM);
    __wasi_filestat_t st;
    must("path_filestat_get", __wasi_path_filestat_get(data, 0, "over.txt", &st));
    SAY("set_times", errno_name(e), st.atim == atim ? "atim-set" : "atim-wrong",
        st.mtim == mtim ? "mtim-set" : "mtim-wrong");
    e = __wasi_path_filestat_set_times(data, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "s", 0, 0,
                                       __WASI_FSTFLAGS_MTIM_NOW);
    must("path_filestat_get", __wasi_path_filestat_get(data, 0, "over.txt", &st));
    SAY("set_times through-symlink now", errno_name(e), st.mtim > mtim ? "mtim-now" : "mtim-old");
    SAY("set_times missing", errno_name(__wasi_path_filestat_set_times(
        data, 0, "missing", 0, 0, __WASI_FSTFLAGS_MTIM_NOW)));

    SAY("unlink symlink", errno_name(__wasi_path_unlink_file(data, "s")));
    stat_path("follow", "over.txt", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
    SAY("unlink hard", errno_name(__wasi_path_unlink_file(data, "hard.txt")));
    stat_path("follow", "over.txt", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
    SAY("unlink", errno_name(__wasi_path_unlink_file(data, "over.txt")));
    SAY("unlink dangling", errno_name(__wasi_path_unlink_file(data, "dangling")));
    SAY("unlink dir-symlink", errno_name(__wasi_path_unlink_file(data, "sd")));
    SAY("unlink d2/inside.txt", errno_name(__wasi_path_unlink_file(data, "d2/inside.txt")));
    SAY("rmdir d2", errno_name(__wasi_path_remove_directory(data, "d2")));
    stat_path("follow", "d2", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
    SAY("done");
    return 0;
}
