/* Writes forever to argv[1] ("stdout", "stderr" or "both"): the host must stop it. */
#include "probe.h"

int main(int argc, char **argv) {
    const char *where = argc > 1 ? argv[1] : "stdout";
    int to_stdout = strcmp(where, "stderr") != 0, to_stderr = strcmp(where, "stdout") != 0;
    char block[4096];
    memset(block, 'x', sizeof block);
    block[sizeof block - 1] = '\n';
    for (;;) {
        if (to_stdout) write_all(STDOUT, block, sizeof block);
        if (to_stderr) write_all(STDERR, block, sizeof block);
    }
}
