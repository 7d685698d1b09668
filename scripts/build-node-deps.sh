# Sourced by scripts/test.sh (with $ROOT and $CACHE set): installs the @polkadot/api
# client the dev node tests drive, into a cache dir outside the clone keyed on
# tests/devnode/js/package.json and package-lock.json, and exports
# DECENTRALML_NODE_MODULES. Never exits the calling shell: on failure it warns and
# leaves DECENTRALML_NODE_MODULES unset (the @polkadot/api tests then fail with the reason).
# Standalone use: . scripts/build-node-deps.sh   (ROOT and CACHE default as in scripts/_env.sh)
_dml_scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$_dml_scripts/_npm_cache.sh"
if _dml_js_cache="$(_dml_npm_cached_install "$_dml_scripts/../tests/devnode/js" node-deps)"; then
  export DECENTRALML_NODE_MODULES="$_dml_js_cache/node_modules"
fi
unset _dml_scripts _dml_js_cache
