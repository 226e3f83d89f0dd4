#!/usr/bin/env bash
# bench: IndexedDB store write/read times (our BrowserStore vs Dexie 4) in headless Chromium
#
# Usage: bench/run store [--no-build]
#   --no-build   reuse bench/.work/store/pkg instead of building the wasm again
#
# Builds the SDK with the `bench` feature (release, like the npm package) into
# bench/.work/store/pkg, serves bench/store/page.html with it and Dexie's ESM build, and runs
# the page once in /usr/bin/chromium. Ours and Dexie alternate; figures are medians (writes and
# read-all over 5 runs, latest-50 over 30 cold opens). Honours CARGO_TARGET_DIR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) die "store: unknown argument '$arg' (usage: bench/run store [--no-build])" ;;
  esac
done

ensure_bench_deps
OUT="$WORK_DIR/store"
mkdir -p "$OUT"
if [ "$build" = 1 ] || [ ! -f "$OUT/pkg/chat_sdk_bg.wasm" ]; then
  command -v wasm-pack >/dev/null || die "wasm-pack is not on PATH (see scripts/setup.sh)"
  log "building the wasm with --features bench (release)"
  bash "$REPO_ROOT/scripts/build-pkg.sh" --release --out-dir "$OUT/pkg" -- --features bench >&2
fi
cp "$BENCH_DIR/store/page.html" "$BENCH_DIR/store/page.js" "$OUT/"
cp "$BENCH_DIR/node_modules/dexie/dist/dexie.mjs" "$OUT/dexie.mjs"

log "running the store benchmark in headless Chromium"
raw=$(cd "$BENCH_DIR" && node store/run.mjs "$OUT")

commit=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
line=$(node -e '
  const [bench, date, commit, raw] = process.argv.slice(1);
  const r = JSON.parse(raw);
  const ms = (x) => Math.round(x * 1000) / 1000;
  process.stdout.write(JSON.stringify({
    bench, date, commit,
    store_write_10k_ms: ms(r.write),
    store_latest50_ms: ms(r.latest),
    store_read_all_10k_ms: ms(r.all),
    store_open_ms: ms(r.open),
    dexie_write_10k_ms: ms(r.dexie_write),
    dexie_latest50_ms: ms(r.dexie_latest),
    dexie_read_all_10k_ms: ms(r.dexie_all),
    dexie_open_ms: ms(r.dexie_open),
    dexie_version: r.dexie_version,
    chromium_version: r.chromium_version,
    messages: r.total, page_size: r.page, reps: r.reps, cold_opens: r.cold_opens,
  }));' store "$date_utc" "$commit" "$raw")

emit_result store "$line"
