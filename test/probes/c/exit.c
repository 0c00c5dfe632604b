/* Says goodbye on stderr, then proc_exit with argv[1] (3 when absent); nothing after it runs. */
#include <stdlib.h>
#include "probe.h"

int main(int argc, char **argv) {
    int code = argc > 1 ? atoi(argv[1]) : 3;
    SAY("before exit");
    WARN("exiting with", num((uint64_t)code));
    __wasi_proc_exit((__wasi_exitcode_t)code);
}
