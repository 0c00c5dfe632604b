#!/bin/sh
# Rebuilds the Go builds of example instruments that the HTTP benchmark (bench/run.ts)
# measures next to the shipped examples:
#   bench/instruments/NAME/ (main.go + go.mod) -> bench/instruments/NAME.wasm
# They answer exactly as examples/instruments/fibonacci (Rust) and
# examples/instruments/mandelbrot (C) do. The built modules are committed, so the bench
# needs no compiler; run this after changing a source and commit the .wasm files with it.
# This script installs nothing.
#
# Needs: golang-1.23-go from bookworm-backports (installed outside PATH, in
# /usr/lib/go-1.23/bin); the GO variable overrides the compiler.
# Usage: scripts/build-bench-instruments.sh [NAME...]   (default: every instrument)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/bench/instruments"

. "$root/scripts/toolchains.sh"

if [ $# -eq 0 ]; then
    set -- $(cd "$dir" && for d in */; do [ -f "$d/go.mod" ] && echo "${d%/}"; done)
fi

for name in "$@"; do
    if [ ! -f "$dir/$name/go.mod" ]; then
        echo "no such instrument: bench/instruments/$name" >&2
        exit 1
    fi
    # Built as the Go examples are (scripts/build-examples.sh). No module proxy and no
    # toolchain download: standard library only. No VCS stamp, so the same source gives
    # the same module.
    (cd "$dir/$name" && GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOPROXY=off GOTOOLCHAIN=local \
        "$GO" build -buildvcs=false -trimpath -ldflags="-s -w" -o "$dir/$name.wasm" .)
    echo "built bench/instruments/$name.wasm ($(wc -c < "$dir/$name.wasm") bytes)"
done
