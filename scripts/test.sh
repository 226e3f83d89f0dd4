#!/usr/bin/env bash
# Sets everything up (idempotently) and runs every test: native unit tests, server integration
# tests against a real Postgres and Redis, browser tests of the SDK in headless Chromium against
# a real server, and the Playwright end-to-end test of the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME=test
. scripts/lib.sh

bash scripts/setup.sh tests/e2e

log "native and server integration tests (cargo test --workspace)"
cargo test --workspace --quiet 2>&1 | tee /tmp/chat-sdk-cargo-test.log

log "building the server and the wasm package for the browser tests"
cargo build --quiet -p chat-server
build_pkg --dev

data_dir=$(mktemp -d /tmp/chat-sdk-test-XXXXXX)
trap 'stop_server; rm -rf "$data_dir"' EXIT
start_server debug --port 0 --data-dir "$data_dir"
log "server for browser tests at $SERVER_URL"

log "browser tests (wasm-bindgen-test in headless Chromium)"
CHAT_TEST_SERVER="$SERVER_URL" wasm-pack test --headless --chrome --chromedriver /usr/bin/chromedriver

log "end-to-end tests (Playwright, Debian chromium)"
CHAT_DEMO_URL="$SERVER_URL" node --test tests/e2e/

log "all tests passed"
