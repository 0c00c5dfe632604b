#!/bin/sh
# Rebuilds the instruments of the protocol tests (test/http-protocols/):
#   test/instruments/protocols/NAME/ (sources) -> test/instruments/protocols/NAME.wasm
# The language of each is told by its files: go.mod (Go), Cargo.toml (Rust), otherwise *.c (C).
# The built modules are committed, so the tests need no compiler; run this after changing a
# source and commit the .wasm files with it. This script installs nothing.
#
# Needs (Debian 12 packages):
#   C:    clang lld wasi-libc wabt
#   Go:   golang-1.23-go from bookworm-backports (installed outside PATH, in /usr/lib/go-1.23/bin)
#   Rust: rustc cargo libstd-rust-dev-wasm32 lld-14 (Debian's rustc 1.63, target wasm32-wasi)
# Tools can be overridden: CC, GO, CARGO, RUSTC, RUST_TARGET.
# Usage: scripts/build-protocol-instruments.sh [NAME...]   (default: every instrument)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/test/instruments/protocols"

. "$root/scripts/toolchains.sh"

# Build output of cargo goes to a temporary folder, never into the work tree.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

build() {
    name=$1 src="$dir/$1" out="$dir/$1.wasm"
    if [ -f "$src/go.mod" ]; then
        # No module proxy and no toolchain download: standard library only. No VCS stamp, so
        # the same source gives the same module.
        (cd "$src" && GOOS=wasip1 GOARCH=wasm GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
            "$GO" build -trimpath -ldflags="-s -w" -o "$out" .)
    elif [ -f "$src/Cargo.toml" ]; then
        (cd "$src" && CARGO_TARGET_DIR="$scratch/$name" "$CARGO" build --quiet --release --target "$RUST_TARGET")
        cp "$scratch/$name/$RUST_TARGET/release/$name.wasm" "$out"
    else
        "$CC" --target=wasm32-wasi -O2 -Wall -Wextra -Werror "$src"/*.c -o "$out"
        # Names and debug sections only make the committed files bigger.
        wasm-strip "$out"
    fi
    echo "built test/instruments/protocols/$name.wasm ($(wc -c < "$out") bytes)"
}

if [ "$#" -eq 0 ]; then
    for src in "$dir"/*/; do
        set -- "$@" "$(basename "$src")"
    done
fi
for name in "$@"; do
    build "$name"
done
