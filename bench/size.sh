#!/usr/bin/env bash
# bench: bundle size (gzip -9) of the SDK (wasm + JS) next to stream-chat and @sendbird/chat
#
# Usage: bench/run size [--no-build]
#   --no-build   measure the existing pkg/ instead of running wasm-pack first
#
# Honours CARGO_TARGET_DIR (passed through to wasm-pack/cargo).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) die "size: unknown argument '$arg' (usage: bench/run size [--no-build])" ;;
  esac
done

ensure_bench_deps
ESBUILD="$BENCH_DIR/node_modules/.bin/esbuild"
[ -x "$ESBUILD" ] || die "esbuild not found at $ESBUILD"
mkdir -p "$WORK_DIR/size"
OUT="$WORK_DIR/size"

# --- our SDK -------------------------------------------------------------------------------
[ -f "$REPO_ROOT/js/index.js" ] || die "js/index.js not found (the npm package entry)"
if [ "$build" = 1 ]; then
  command -v wasm-pack >/dev/null || die "wasm-pack is not on PATH (see scripts/setup.sh)"
  log "building the release package: scripts/build-pkg.sh --release${CARGO_TARGET_DIR:+ (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)}"
  bash "$REPO_ROOT/scripts/build-pkg.sh" --release >&2
fi
WASM="$REPO_ROOT/pkg/chat_sdk_bg.wasm"
[ -f "$WASM" ] || die "$WASM not found (build failed or --no-build without a pkg/)"

# The JS the browser downloads: js/index.js plus the wasm-bindgen glue it imports, bundled and
# minified. The .wasm file itself is left out (external / file loader): it is counted above.
log "bundling js/index.js + wasm-bindgen glue with esbuild"
"$ESBUILD" "$REPO_ROOT/js/index.js" --bundle --minify --format=esm \
  --external:'*.wasm' --loader:.wasm=file \
  --outfile="$OUT/sdk.js" --log-level=warning >&2

sdk_wasm_bytes=$(wc -c < "$WASM" | tr -d ' ')
sdk_wasm_gzip=$(gzip_size "$WASM")
sdk_js_gzip=$(gzip_size "$OUT/sdk.js")
sdk_total_gzip=$((sdk_wasm_gzip + sdk_js_gzip))

# --- peers ---------------------------------------------------------------------------------
# Each peer is measured the way an app would ship it: one entry that imports what a chat app
# needs, bundled for the browser and minified by the same esbuild.
cat > "$OUT/stream-chat.entry.js" <<'JS'
import { StreamChat } from 'stream-chat'; globalThis.x = StreamChat;
JS
cat > "$OUT/sendbird.entry.js" <<'JS'
import SendbirdChat from '@sendbird/chat'; import { GroupChannelModule } from '@sendbird/chat/groupChannel'; globalThis.x=[SendbirdChat,GroupChannelModule];
JS
for peer in stream-chat sendbird; do
  log "bundling $peer with esbuild"
  # NODE_PATH lets the entry (in .work/) resolve packages from bench/node_modules.
  NODE_PATH="$BENCH_DIR/node_modules" "$ESBUILD" "$OUT/$peer.entry.js" --bundle --minify \
    --platform=browser --outfile="$OUT/$peer.js" --log-level=error >&2
done
stream_gzip=$(gzip_size "$OUT/stream-chat.js")
sendbird_gzip=$(gzip_size "$OUT/sendbird.js")
stream_version=$(pkg_version stream-chat)
sendbird_version=$(pkg_version @sendbird/chat)

commit=$(git_commit_of src crates/protocol js Cargo.toml Cargo.lock)
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)

line=$(node -e '
  const [bench, date, commit, wasmRaw, wasm, js, total, sc, sb, scv, sbv] = process.argv.slice(1);
  process.stdout.write(JSON.stringify({
    bench, date, commit,
    sdk_wasm_bytes: +wasmRaw,
    sdk_wasm_gzip_bytes: +wasm,
    sdk_js_gzip_bytes: +js,
    sdk_total_gzip_bytes: +total,
    stream_chat_gzip_bytes: +sc,
    stream_chat_version: scv,
    sendbird_gzip_bytes: +sb,
    sendbird_version: sbv,
  }));' size "$date_utc" "$commit" "$sdk_wasm_bytes" "$sdk_wasm_gzip" "$sdk_js_gzip" \
        "$sdk_total_gzip" "$stream_gzip" "$sendbird_gzip" "$stream_version" "$sendbird_version")

emit_result size "$line"
