#!/bin/sh
# Rebuilds the WASI probe modules of the host's conformance tests (test/wasi/) from source:
#   test/probes/c/NAME.c          -> test/probes/wasm/NAME.wasm
#   test/probes/rust/src/bin/NAME.rs -> test/probes/wasm/NAME.wasm
# The built modules are committed, so the tests need no compiler; run this after changing a
# probe and commit the .wasm files with the source.
#
# Needs (Debian 12 packages): clang lld wasi-libc wabt (C), and
# rustc cargo libstd-rust-dev-wasm32 lld-14 (Rust; Debian's rustc 1.63, target wasm32-wasi).
# Usage: scripts/build-probes.sh [c|rust]   (default: both)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
probes="$root/test/probes"
out="$probes/wasm"
what=${1:-all}
mkdir -p "$out"

report() {
    echo "built test/probes/wasm/$1.wasm ($(wc -c < "$out/$1.wasm") bytes)"
}

if [ "$what" = all ] || [ "$what" = c ]; then
    for source in "$probes"/c/*.c; do
        name=$(basename "$source" .c)
        clang --target=wasm32-wasi -O2 -Wall -Wextra -Werror "$source" -o "$out/$name.wasm"
        # Names and debug sections only make the committed files bigger.
        wasm-strip "$out/$name.wasm"
        report "$name"
    done
fi

if [ "$what" = all ] || [ "$what" = rust ]; then
    # Debian's cargo and rustc by path: a rustup toolchain earlier in PATH has no wasm32-wasi std.
    # The target directory is temporary so no build output lands in the work tree.
    target=$(mktemp -d)
    trap 'rm -rf "$target"' EXIT
    (cd "$probes/rust" && RUSTC=/usr/bin/rustc CARGO_TARGET_DIR="$target" \
        /usr/bin/cargo build --quiet --release --target wasm32-wasi)
    for source in "$probes"/rust/src/bin/*.rs; do
        name=$(basename "$source" .rs)
        cp "$target/wasm32-wasi/release/$name.wasm" "$out/$name.wasm"
        report "$name"
    done
fi
