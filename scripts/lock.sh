#!/usr/bin/env bash
# Regenerates the committed locks in requirements/ from pyproject.toml with
# `uv pip compile --generate-hashes` (uv from PyPI, installed once into the cache):
#   base.lock    the client alone (`pip install decentralml`), highest versions
#   test.lock    base + the test and check tools          (scripts/test.sh, base-install stage)
#   ml.lock      base + TensorFlow, PyTorch, Flower       (a model creator's install)
#   dev.lock     base + ml + test                         (the cached venv of scripts/_env.sh)
#   lowest.lock  base at the lowest versions the ranges admit (--resolution lowest-direct,
#                plus Click at the oldest that Typer's lowest version admits)
# Run it after changing a dependency in pyproject.toml, and commit the locks.
# Extra arguments go to every `uv pip compile` (e.g. --upgrade-package typer).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${DECENTRALML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/decentralml-build}"
PY="${PYTHON:-python3}"
UV_VERSION="0.13.9"
UV_VENV="$CACHE/tool-uv-$UV_VERSION"
if [ ! -x "$UV_VENV/bin/uv" ]; then
  "$PY" -m venv "$UV_VENV"
  "$UV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
cd "$ROOT"
compile() {
  local out="$1"; shift
  "$UV_VENV/bin/uv" pip compile pyproject.toml --python-version 3.11 --generate-hashes --quiet \
    --custom-compile-command "scripts/lock.sh" -o "requirements/$out" "$@"
}
compile base.lock "$@"
compile test.lock --extra test "$@"
compile ml.lock --extra ml "$@"
compile dev.lock --extra ml --extra test "$@"
compile lowest.lock --resolution lowest-direct -c requirements/lowest-constraints.txt "$@"
