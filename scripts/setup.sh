#!/usr/bin/env bash
# Installs everything chat-sdk needs on Debian 12 + rustup, idempotently:
# a second run checks each item and installs nothing that is already present.
# Arguments: folders whose package.json should be installed (e.g. tests/e2e bench).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# --- Debian packages -------------------------------------------------------
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_apt+=(postgresql postgresql-contrib)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
command -v gzip >/dev/null || need_apt+=(gzip)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # Debian's postgresql package starts a cluster at boot/installation; we run our own.
  if command -v pg_lsclusters >/dev/null; then
    $SUDO service postgresql stop >/dev/null 2>&1 || true
  fi
  # same for redis: we start private instances.
  $SUDO service redis-server stop >/dev/null 2>&1 || true
fi

# --- Rust toolchain pieces -------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The release package compiles std along with the crate (scripts/build-pkg.sh).
if ! rustup component list --installed | grep -qx 'rust-src'; then
  log "rustup component add rust-src"
  rustup component add rust-src
fi

if ! command -v wasm-pack >/dev/null; then
  log "cargo install wasm-pack (~2 min)"
  cargo install wasm-pack
fi

# wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wbg_version=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if [ -z "$wbg_version" ]; then
  echo "[setup] cannot read the wasm-bindgen version from Cargo.lock" >&2; exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg_version" ]; then
  log "cargo install wasm-bindgen-cli $wbg_version (~3 min)"
  # no --locked: one locked dependency is missing from the registry here (TOOLCHAIN.md)
  cargo install wasm-bindgen-cli --version "$wbg_version" --force
fi

# --- npm ---------------------------------------------------------------------
if ! command -v wasm-opt >/dev/null; then
  log "npm install -g binaryen (wasm-opt)"
  npm install -g --no-audit --no-fund binaryen@132 >/dev/null
fi
# Node packages of the test and tooling folders (package-lock.json pins them).
for dir in "$@"; do
  [ -f "$dir/package.json" ] || continue
  stamp="$dir/node_modules/.installed"
  if [ ! -f "$stamp" ] || [ "$dir/package.json" -nt "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    log "npm install in $dir"
    if [ -f "$dir/package-lock.json" ]; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    else
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
    fi
    touch "$stamp"
  fi
done
log "ready"
