# Sourced by scripts/build-node-deps.sh and scripts/build-chopsticks.sh: one npm project
# (package.json + package-lock.json) installed with `npm ci` into a cache dir outside the
# clone, keyed on those two files.
# Usage: _dml_npm_cached_install SOURCE_DIR NAME [npm ci options...]
#   prints the installed cache dir on stdout and returns 0, or warns on stderr and returns 1
#   (node/npm missing or `npm ci` failed). Never exits the calling shell.
CACHE="${CACHE:-${DECENTRALML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/decentralml-build}}"
_dml_npm_cached_install() {
  local src="$1" name="$2" key dir
  shift 2
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "$name: node and npm are needed (apt-get install nodejs npm)." >&2
    return 1
  fi
  key="$( (cat "$src/package.json" "$src/package-lock.json" 2>/dev/null || true) | sha256sum | cut -c1-16)"
  dir="$CACHE/$name-$key"
  if [ ! -f "$dir/.complete" ]; then
    echo "Installing $name into $dir (first run only)..." >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$src/package.json" "$src/package-lock.json" "$dir/"
    if ! (cd "$dir" && npm ci "$@" --no-audit --no-fund --loglevel=error >&2); then
      echo "$name: npm ci failed; the tests that need it will report it." >&2
      return 1
    fi
    touch "$dir/.complete"
  fi
  printf '%s\n' "$dir"
}
