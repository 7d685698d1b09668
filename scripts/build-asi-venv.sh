# Sourced by scripts/test.sh (with $ROOT and $CACHE set): builds the virtualenv holding
# async-substrate-interface (pinned in tests/devnode/asi-requirements.txt) in a cache dir
# outside the clone keyed on that file, and exports DECENTRALML_ASI_PYTHON. It is a venv of
# its own because async-substrate-interface 2.x refuses to import next to substrate-interface's
# scalecodec. Never exits the calling shell: on failure it warns and leaves the variable unset
# (the test then fails with the reason). Standalone use: . scripts/build-asi-venv.sh
_dml_asi_req="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}/tests/devnode/asi-requirements.txt"
CACHE="${CACHE:-${DECENTRALML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/decentralml-build}}"
_dml_asi_key="$(sha256sum < "$_dml_asi_req" | cut -c1-16)"
_dml_asi_venv="$CACHE/venv-asi-$_dml_asi_key"
if [ ! -f "$_dml_asi_venv/.complete" ]; then
  echo "Building the async-substrate-interface virtualenv in $_dml_asi_venv (first run only)..." >&2
  rm -rf "$_dml_asi_venv"
  if python3 -m venv "$_dml_asi_venv" && "$_dml_asi_venv/bin/pip" install --quiet -r "$_dml_asi_req" >&2; then
    touch "$_dml_asi_venv/.complete"
  else
    echo "build-asi-venv: could not build it; the async-substrate-interface test will report it." >&2
  fi
fi
if [ -f "$_dml_asi_venv/.complete" ]; then
  export DECENTRALML_ASI_PYTHON="$_dml_asi_venv/bin/python"
fi
unset _dml_asi_req _dml_asi_key _dml_asi_venv
