/* proc_raise(SIGTERM). wasi-libc dropped the import from its header, so it is declared here. */
#include "probe.h"

/* 15 is `term` in the witx `signal` enum. */
#define WASI_SIGNAL_TERM 15

__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
__wasi_errno_t proc_raise(uint8_t signal);

int main(void) {
    SAY("before raise");
    __wasi_errno_t e = proc_raise(WASI_SIGNAL_TERM);
    /* A host that reports the raise as an error code lets the guest go on. */
    SAY("after raise", errno_name(e));
    return 0;
}
