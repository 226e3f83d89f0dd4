#!/usr/bin/env bash
# Sets everything up (idempotently), builds the release package and the server, starts the
# server on its embedded Postgres and Redis (data in .chat-data/) and serves the demo.
# Open the printed URLs in two tabs and chat. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME=demo
. scripts/lib.sh

bash scripts/setup.sh
build_pkg --release
log "building the server (release)"
cargo build --quiet --release -p chat-server
trap stop_server EXIT INT TERM
start_server release --port "${CHAT_PORT:-8080}" --data-dir "${CHAT_DATA_DIR:-.chat-data}"
echo
echo "  Demo running. Open these in two tabs:"
echo "    $SERVER_URL/?user=alice"
echo "    $SERVER_URL/?user=bob"
echo "  (Ctrl-C to stop)"
echo
wait "$SERVER_PID"
