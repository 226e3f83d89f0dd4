#!/usr/bin/env bash
# bench: chat-server throughput (durable, 8 senders, fan-out to 10) and send-to-receive latency
# Builds chat-server's load example in release mode and runs it against a private, durable
# Postgres and Redis (see crates/server/examples/load.rs for exactly what is measured).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$REPO_ROOT"
log "building the load benchmark (release)"
cargo build --quiet --release -p chat-server --example load >&2
line=$("${CARGO_TARGET_DIR:-target}/release/examples/load")
commit=$(git_commit_of crates)
line=$(printf '%s' "$line" | sed "s/}\$/,\"commit\":\"$commit\",\"date\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}/")
emit_result server "$line"
