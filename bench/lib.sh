# Shared helpers for bench/*.sh (sourced, not run).
# shellcheck shell=bash

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd)"
WORK_DIR="$BENCH_DIR/.work"          # scratch space, git-ignored
RESULTS_DIR="$BENCH_DIR/results"     # committed results

log() { echo "[bench] $*" >&2; }
die() { echo "[bench] error: $*" >&2; exit 1; }

# Install bench/package.json's dependencies into bench/node_modules unless every one of them
# is already there at the version the lock file asks for.
ensure_bench_deps() {
  command -v node >/dev/null || die "node is required"
  command -v npm >/dev/null || die "npm is required"
  if (cd "$BENCH_DIR" && node -e '
      const fs = require("fs");
      const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
      const want = Object.assign({}, pkg.dependencies, pkg.devDependencies);
      for (const [name, range] of Object.entries(want)) {
        const p = "node_modules/" + name + "/package.json";
        if (!fs.existsSync(p)) process.exit(1);
        const have = JSON.parse(fs.readFileSync(p, "utf8")).version;
        if (/^\d+\.\d+\.\d+$/.test(range) && have !== range) process.exit(1);
      }' 2>/dev/null); then
    return 0
  fi
  log "installing bench dependencies (npm install in bench/)"
  if [ -f "$BENCH_DIR/package-lock.json" ]; then
    (cd "$BENCH_DIR" && npm ci --no-audit --no-fund >&2)
  else
    (cd "$BENCH_DIR" && npm install --no-audit --no-fund >&2)
  fi
}

# Version of an installed npm package in bench/node_modules.
pkg_version() {
  node -e 'process.stdout.write(require(process.argv[1] + "/package.json").version)' \
    "$BENCH_DIR/node_modules/$1"
}

# Short HEAD commit, with "+dirty" when the given paths have uncommitted changes (the figures
# then describe the working tree, not exactly that commit).
git_commit_of() {
  local c
  c=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null) || { echo unknown; return; }
  if [ -n "$(git -C "$REPO_ROOT" status --porcelain -- "$@" 2>/dev/null)" ]; then c="$c+dirty"; fi
  echo "$c"
}

gzip_size() { gzip -9 -c "$1" | wc -c | tr -d ' '; }

# Write a result line: to stdout, to results/<name>.json (overwritten), appended to history.
emit_result() {
  local name="$1" line="$2"
  mkdir -p "$RESULTS_DIR"
  printf '%s\n' "$line" > "$RESULTS_DIR/$name.json"
  printf '%s\n' "$line" >> "$RESULTS_DIR/history.jsonl"
  printf '%s\n' "$line"
}
