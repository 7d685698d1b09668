# Sourced by scripts/test.sh (with $ROOT and $CACHE set): installs the @polkadot/api
# client the dev node tests drive, into a cache dir outside the clone keyed on
# tests/devnode/js/package.json and package-lock.json, and exports
# DECENTRALML_NODE_MODULES. Never exits the calling shell: on failure it warns and
# leaves DECENTRALML_NODE_MODULES unset (the @polkadot/api tests then fail with the reason).
# Standalone use: . scripts/build-node-deps.sh   (ROOT and CACHE default as in scripts/_env.sh)
_dml_js_dir="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}/tests/devnode/js"
CACHE="${CACHE:-${DECENTRALML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/decentralml-build}}"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "build-node-deps: node and npm are needed for the @polkadot/api tests (apt-get install nodejs npm)." >&2
else
  _dml_js_key="$( (cat "$_dml_js_dir/package.json" "$_dml_js_dir/package-lock.json" 2>/dev/null || true) | sha256sum | cut -c1-16)"
  _dml_js_cache="$CACHE/node-deps-$_dml_js_key"
  if [ ! -f "$_dml_js_cache/.complete" ]; then
    echo "Installing @polkadot/api into $_dml_js_cache (first run only)..." >&2
    rm -rf "$_dml_js_cache"
    mkdir -p "$_dml_js_cache"
    cp "$_dml_js_dir/package.json" "$_dml_js_dir/package-lock.json" "$_dml_js_cache/"
    if (cd "$_dml_js_cache" && npm ci --no-audit --no-fund --loglevel=error >&2); then
      touch "$_dml_js_cache/.complete"
    else
      echo "build-node-deps: npm ci failed; the @polkadot/api tests will report it." >&2
    fi
  fi
  if [ -f "$_dml_js_cache/.complete" ]; then
    export DECENTRALML_NODE_MODULES="$_dml_js_cache/node_modules"
  fi
  unset _dml_js_key _dml_js_cache
fi
unset _dml_js_dir
