#!/bin/sh
# Rebuilds the C instruments the HTTP tests serve: test/instruments/src/NAME.c -> test/instruments/NAME.wasm.
# The built modules are committed, so the tests need no compiler; run this after changing a source.
#
# Needs (Debian/Ubuntu packages): clang lld wasi-libc wabt
# Usage: scripts/build-test-instruments.sh [NAME...]   (default: every source)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/test/instruments/src"
out="$root/test/instruments"

if [ "$#" -eq 0 ]; then
    set -- $(cd "$src" && ls *.c | sed 's/\.c$//')
fi

for name in "$@"; do
    clang --target=wasm32-wasi -O2 -Wall -Wextra "$src/$name.c" -o "$out/$name.wasm"
    # Names and debug sections only make the committed files bigger.
    wasm-strip "$out/$name.wasm"
    echo "built test/instruments/$name.wasm ($(wc -c < "$out/$name.wasm") bytes)"
done
