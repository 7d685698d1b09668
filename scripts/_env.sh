# Sourced by the other scripts: the development virtualenv (every extra),
# built from requirements/dev.lock and cached outside the clone under a key
# that is the lock's digest; this checkout's package is imported from its own
# client/ directory.
# Usage: . scripts/_env.sh   (sets ROOT, CACHE, PY, VENV and activates the venv)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${DECENTRALML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/decentralml-build}"
mkdir -p "$CACHE"
PY="${PYTHON:-python3}"
. "$ROOT/scripts/_venv.sh"
VENV="$(dml_lock_venv dev "$ROOT/requirements/dev.lock" --with-package)"
# The cached virtualenv serves every checkout at once (clones, worktrees, CI):
# this checkout's package comes first on the import path, so two checkouts that
# share the venv never import each other's code.
export PYTHONPATH="$ROOT/client${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"
