#!/usr/bin/env bash
# Prepare the creator's environment: ./setup.sh  then  source "$(./setup.sh --print-venv)/bin/activate" if one was made.
# If the current python3 already has requirements.txt and the decentralml client, nothing is installed.
# Otherwise a virtualenv is created once in ${XDG_CACHE_HOME:-~/.cache}/decentralml/creator-venvs/<hash>,
# with requirements.txt and the decentralml client (from this repository when the bundle sits in it).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${DECENTRALML_PYTHON:-python3}"
REPO="$(cd "$HERE/../.." && pwd)"
if "$PY" -c "import decentralml, numpy, safetensors, sklearn, tensorflow, torch" 2>/dev/null; then
  [ "${1:-}" = "--print-venv" ] && "$PY" -c 'import sys; print(sys.prefix)'
  echo "The current Python already satisfies the creator bundle." >&2
  exit 0
fi
# keyed on requirements.txt, and on the client's pyproject.toml when the bundle sits in this repository
key="$("$PY" -c 'import hashlib, os, sys; h = hashlib.sha256()
for p in sys.argv[1:]:
    if os.path.isfile(p): h.update(open(p, "rb").read())
print(h.hexdigest()[:16])' "$HERE/requirements.txt" "$REPO/pyproject.toml")"
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/decentralml/creator-venvs/$key"
if [ ! -f "$VENV/.complete" ]; then
  echo "Installing the creator's requirements into $VENV (first run only)..." >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet -r "$HERE/requirements.txt" >&2
  if [ -f "$REPO/pyproject.toml" ]; then "$VENV/bin/python" -m pip install --quiet -e "$REPO" >&2; fi
  touch "$VENV/.complete"
fi
[ "${1:-}" = "--print-venv" ] && echo "$VENV"
echo "Creator environment ready: source $VENV/bin/activate" >&2
