#!/usr/bin/env bash
# bench: time from script start to `connected` in headless Chromium (median of 20), next to stream-chat
#
# Usage: bench/run startup [--no-build]
# Serves two pages from a local chat-server (demo mode): one imports the SDK (js/index.js, wasm
# fetched and compiled by the page) and connects to the server; the other evaluates the bundled
# stream-chat module and calls StreamChat.getInstance (there is no Stream server here, so its
# figure is module evaluation + client construction only, without a connection). Each run is a
# fresh browser context (cold HTTP cache). Prints one JSON line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) die "startup: unknown argument '$arg'" ;;
  esac
done
ensure_bench_deps
OUT="$WORK_DIR/startup"
mkdir -p "$OUT"
cd "$REPO_ROOT"
if [ "$build" = 1 ]; then
  log "building the release package and the server"
  bash scripts/build-pkg.sh --release >&2
  cargo build --quiet -p chat-server >&2
fi
cp "$BENCH_DIR/startup/sdk.html" "$BENCH_DIR/startup/stream.html" "$BENCH_DIR/startup/warm.html" "$OUT/"
printf "import { StreamChat } from 'stream-chat'; export { StreamChat };\n" > "$OUT/stream.entry.js"
NODE_PATH="$BENCH_DIR/node_modules" "$BENCH_DIR/node_modules/.bin/esbuild" "$OUT/stream.entry.js" --bundle \
  --minify --format=esm --platform=browser --outfile="$OUT/stream.mjs" --log-level=error >&2

data=$(mktemp -d)
log_file=$(mktemp)
"${CARGO_TARGET_DIR:-target}/debug/chat-server" serve --demo --port 0 --data-dir "$data" \
  --static /pkg=pkg --static /js=js --static /bench="$OUT" >"$log_file" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data" "$log_file"' EXIT
url=""
for _ in $(seq 1 300); do
  url=$(sed -n 's/^chat-server listening on //p' "$log_file")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || die "chat-server did not start"
line=$(node "$BENCH_DIR/startup/run.mjs" "$url" 20)
commit=$(git_commit_of src js crates/protocol)
line=$(printf '%s' "$line" | sed "s/}\$/,\"commit\":\"$commit\",\"date\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}/")
emit_result startup "$line"
