/* Prints the arguments and environment exactly as args_get and environ_get hand them over. */
#include <stdlib.h>
#include "probe.h"

/* Reads one of the two string vectors (args or environ) with its *_sizes_get and *_get. */
static void print_vector(const char *label,
                         __wasi_errno_t (*sizes)(__wasi_size_t *, __wasi_size_t *),
                         __wasi_errno_t (*get)(uint8_t **, uint8_t *)) {
    __wasi_size_t count = 0, buf_size = 0;
    __wasi_errno_t e = sizes(&count, &buf_size);
    if (e != 0) { SAY(label, "sizes", errno_name(e)); return; }
    uint8_t **items = calloc(count + 1, sizeof *items);
    uint8_t *buf = malloc(buf_size + 1);
    e = get(items, buf);
    if (e != 0) { SAY(label, "get", errno_name(e)); return; }
    SAY(label, "count", num(count));
    /* Every string must end inside the buffer the sizes call announced. */
    size_t used = 0;
    for (__wasi_size_t i = 0; i < count; i++) {
        size_t len = strlen((const char *)items[i]);
        /* Brackets show empty strings and edge spaces. */
        char *bracketed = malloc(len + 3);
        bracketed[0] = '[';
        memcpy(bracketed + 1, items[i], len);
        strcpy(bracketed + 1 + len, "]");
        SAY(label, num(i), bracketed);
        free(bracketed);
        used += len + 1;
    }
    SAY(label, "bytes", used == buf_size ? "match" : "mismatch");
}

int main(void) {
    print_vector("arg", __wasi_args_sizes_get, __wasi_args_get);
    print_vector("env", __wasi_environ_sizes_get, __wasi_environ_get);
    return 0;
}
