# Sourced by scripts/test.sh (with $ROOT and $CACHE set): installs chopsticks
# (@acala-network/chopsticks, pinned in tests/chopsticks/package.json and package-lock.json),
# which runs the runtime's WebAssembly blob from pallet-spec/chainspec/development.raw.json
# as the integration tests' second real chain, into a cache dir outside the clone, and
# exports DECENTRALML_CHOPSTICKS (the `chopsticks` command). Install scripts are skipped:
# the only one builds sqlite3 from C sources (minutes on two cores), which chopsticks uses
# only with `--db`. Never exits the calling shell: on failure it warns and leaves the
# variable unset (the chopsticks tests then fail with the reason).
# Standalone use: . scripts/build-chopsticks.sh   (ROOT and CACHE default as in scripts/_env.sh)
_dml_scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$_dml_scripts/_npm_cache.sh"
if _dml_chop_dir="$(_dml_npm_cached_install "$_dml_scripts/../tests/chopsticks" chopsticks --ignore-scripts)"; then
  export DECENTRALML_CHOPSTICKS="$_dml_chop_dir/node_modules/.bin/chopsticks"
fi
unset _dml_scripts _dml_chop_dir
