/*
 * Ends itself the way abort() ends a POSIX program: a line on stderr, then
 * proc_raise(SIGABRT). wasi-libc dropped proc_raise from its header, so it is declared here.
 * A host that lets proc_raise return makes it go on and exit 0, which a test would see.
 */
#include <stdint.h>
#include <stdio.h>

/* 6 is `abrt` in the witx `signal` enum. */
#define WASI_SIGNAL_ABRT 6

__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
uint16_t wasi_proc_raise(uint8_t signal);

int main(void) {
    fputs("about to raise SIGABRT\n", stderr);
    wasi_proc_raise(WASI_SIGNAL_ABRT);
    fputs("still running after proc_raise", stdout);
    return 0;
}
