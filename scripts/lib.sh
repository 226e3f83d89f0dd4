# Shared helpers for the scripts: building the wasm package and starting a server node.
# Source it; it expects to run from the repository root.

log() { printf '[%s] %s\n' "${SCRIPT_NAME:-chat-sdk}" "$*"; }

# Builds pkg/ (scripts/build-pkg.sh). $1: --release (what ships, size-tuned) or --dev.
build_pkg() {
  log "building pkg/ ($1)"
  bash scripts/build-pkg.sh "$1" >/dev/null
}

# Starts target/$1/chat-server in demo mode with the demo's static mounts, in the background,
# and sets SERVER_PID and SERVER_URL. Extra arguments go to `serve`.
start_server() {
  local profile=$1; shift
  local out; out=$(mktemp)
  "target/$profile/chat-server" serve --demo --static /pkg=pkg --static /js=js --static /=examples/demo "$@" >"$out" &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    SERVER_URL=$(sed -n 's/^chat-server listening on //p' "$out")
    [ -n "$SERVER_URL" ] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "chat-server exited before listening" >&2; return 1
    fi
    sleep 0.1
  done
  [ -n "$SERVER_URL" ] || { echo "chat-server did not start within 60 s" >&2; return 1; }
  export SERVER_URL SERVER_PID
}

stop_server() {
  if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
