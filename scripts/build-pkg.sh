#!/usr/bin/env bash
# Builds the npm package's wasm and its wasm-bindgen glue with wasm-pack: the one place that
# knows how the shipped package is compiled (the demo, the tests and the benchmarks all call it).
#
# Usage: scripts/build-pkg.sh [--release | --dev] [--out-dir DIR] [-- CARGO_ARGS...]
#   --release (default)  what ships: size-tuned (opt-level z, LTO, wasm-opt, see Cargo.toml),
#                        and the standard library compiled along with the crate with panics as
#                        an immediate abort (see below)
#   --dev                a debug build (fast to compile, panics keep their messages)
#   --out-dir DIR        where to write (default pkg/, relative to the repository root)
#   CARGO_ARGS           passed to cargo (e.g. --features bench)
#
# Panics: the wasm has no unwinding and no panic hook, so a panic already ends as a trap with
# no message; compiling std with `-Cpanic=immediate-abort` (`-Zbuild-std`) drops the message
# formatting and the location data that nobody can read (-8 KB gzip, bench/README.md), and
# `-Zlocation-detail=none` the file names and lines that `#[track_caller]` functions (RefCell
# borrows, unwraps) still pass to their panic paths (-1 KB gzip). These
# flags are unstable: the stable toolchain accepts them with RUSTC_BOOTSTRAP=1, set here for
# this one build only, and needs the rust-src component (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=--release
out=pkg
cargo_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --release | --dev) mode=$1 ;;
    --out-dir) out=$2; shift ;;
    --) shift; cargo_args=("$@"); break ;;
    *) echo "build-pkg: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

if [ "$mode" = --release ]; then
  export RUSTC_BOOTSTRAP=1
  export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
  cargo_args=(-Zbuild-std=std,panic_abort "${cargo_args[@]}")
fi
exec wasm-pack --quiet build "$mode" --target web --out-dir "$out" --out-name chat_sdk . \
  -- "${cargo_args[@]}"
