#!/bin/sh
# Rebuilds the example instruments: examples/instruments/<name>/ (sources) ->
# examples/instruments/<name>.wasm. The language of each instrument is told by
# its files: go.mod (Go), Cargo.toml (Rust), asconfig.json (AssemblyScript),
# otherwise *.c (C).
#
#   scripts/build-examples.sh              build every instrument
#   scripts/build-examples.sh wiki chat    build only these
#
# This script installs nothing. On Debian 12 the toolchains come from:
#   C:     apt-get install clang lld wasi-libc libclang-rt-dev-wasm32
#   Go:    apt-get install -t bookworm-backports golang-1.23-go
#          (enable the bookworm-backports suite first; bookworm's own Go is too old)
#   Rust:  apt-get install rustc cargo libstd-rust-dev-wasm32 lld-14 librust-serde-json-dev
#          (Debian's rustc 1.63 with its wasm32-wasi standard library; the crates
#          come from Debian's /usr/share/cargo/registry, no crates.io needed)
#   AssemblyScript (npm, kept out of the project's package.json):
#          npm install --prefix .toolchains/assemblyscript assemblyscript@0.28.20 @assemblyscript/wasi-shim@0.1.0
#   Size:  apt-get install binaryen wabt   (wasm-opt, wasm-strip; optional, smaller modules)
#
# Tools can be overridden: CC, GO, CARGO, RUSTC, RUST_TARGET, ASC.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/examples/instruments

. "$ROOT/scripts/toolchains.sh"
ASC=${ASC:-$ROOT/.toolchains/assemblyscript/node_modules/.bin/asc}
DEBIAN_CRATES=/usr/share/cargo/registry

have() { command -v "$1" >/dev/null 2>&1; }

# shrink IN OUT: optimise for size where binaryen and wabt are installed.
# wasm-opt reads the features the compiler used from the target_features
# section, so it runs before wasm-strip removes that section.
shrink() {
    if have wasm-opt; then
        wasm-opt -Oz --strip-debug --strip-producers "$1" -o "$2"
    else
        cp "$1" "$2"
    fi
    if have wasm-strip; then wasm-strip "$2"; fi
}

build_c() {
    dir=$SRC/$1 common=
    # The shared request reader, for instruments that include it.
    if grep -q 'common/request.h' "$dir"/*.c; then common=$SRC/common/request.c; fi
    tmp=$(mktemp)
    "$CC" --target=wasm32-wasi -O2 -Wall -Wextra -o "$tmp" "$dir"/*.c ${common:+"$common"}
    shrink "$tmp" "$SRC/$1.wasm"
    rm -f "$tmp"
}

build_go() {
    # -buildvcs=false: the module must not change with every commit of the repository.
    (cd "$SRC/$1" && GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOTOOLCHAIN=local \
        "$GO" build -buildvcs=false -trimpath -ldflags="-s -w" -o "$SRC/$1.wasm" .)
    # wasm-opt would save only ~5 % here, at ~15 s per module: not worth it.
}

build_rust() {
    # Without crates.io, Debian's packaged crates stand in for it.
    offline=
    if [ -d "$DEBIAN_CRATES" ]; then
        offline="--offline --config source.crates-io.replace-with=\"debian\" --config source.debian.directory=\"$DEBIAN_CRATES\""
    fi
    # One target directory for all crates: serde_json is compiled once.
    # shellcheck disable=SC2086
    (cd "$SRC/$1" && CARGO_TARGET_DIR=$SRC/target \
        "$CARGO" build --quiet --release --target "$RUST_TARGET" $offline)
    shrink "$SRC/target/$RUST_TARGET/release/$1.wasm" "$SRC/$1.wasm"
}

build_as() {
    if [ ! -x "$ASC" ]; then
        echo "AssemblyScript compiler not found at $ASC (see the header of this script)" >&2
        exit 1
    fi
    (cd "$SRC/$1" && "$ASC" main.ts --config asconfig.json --target release -o "$SRC/$1.wasm")
}

if [ $# -eq 0 ]; then
    set -- $(cd "$SRC" && for d in */; do d=${d%/}; [ "$d" = common ] || [ "$d" = target ] || echo "$d"; done)
fi

for name in "$@"; do
    dir=$SRC/$name
    if [ ! -d "$dir" ]; then
        echo "no such instrument: $name" >&2
        exit 1
    fi
    if [ -f "$dir/go.mod" ]; then lang=go
    elif [ -f "$dir/Cargo.toml" ]; then lang=rust
    elif [ -f "$dir/asconfig.json" ]; then lang=as
    else lang=c
    fi
    printf '%-14s %-5s ' "$name" "$lang"
    "build_$lang" "$name"
    wc -c < "$SRC/$name.wasm" | awk '{ printf "%9d bytes\n", $1 }'
done
