# Sourced by the build scripts: which compilers to use. Each may be overridden from the
# environment: CC, GO, CARGO, RUSTC, RUST_TARGET.

CC=${CC:-clang}
# bookworm-backports installs Go 1.23 outside PATH.
if [ -z "${GO:-}" ]; then
    if [ -x /usr/lib/go-1.23/bin/go ]; then GO=/usr/lib/go-1.23/bin/go; else GO=go; fi
fi
# Debian's cargo and rustc by default: a rustup toolchain earlier in PATH has
# no WASI standard library here.
if [ -z "${CARGO:-}" ]; then
    if [ -x /usr/bin/cargo ]; then CARGO=/usr/bin/cargo; else CARGO=cargo; fi
fi
if [ -z "${RUSTC:-}" ]; then
    if [ -x /usr/bin/rustc ]; then RUSTC=/usr/bin/rustc; else RUSTC=rustc; fi
fi
RUST_TARGET=${RUST_TARGET:-wasm32-wasi}   # wasm32-wasip1 for Rust >= 1.78
export RUSTC
