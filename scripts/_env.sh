# Sourced by the other scripts: the development virtualenv (every extra),
# built from requirements/dev.lock and cached outside the clone under a key
# that is the lock's digest; this checkout's package is imported from its own
# client/ directory.
# Usage: . scripts/_env.sh   (sets ROOT, CACHE, PY, VENV and activates the venv)
# The shell options of the shell that sources it are left as they were (the body runs
# with `set -uo pipefail` in a function whose options are local); every step is checked,
# and a failure returns non-zero, which ends a script running under `set -e`.
_dml_env() {
  local -
  set -uo pipefail
  ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
  CACHE="${DECENTRALML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/decentralml-build}"
  mkdir -p "$CACHE" || return 1
  PY="${PYTHON:-python3}"
  . "$ROOT/scripts/_venv.sh" || return 1
  VENV="$(dml_lock_venv dev "$ROOT/requirements/dev.lock" --with-package)" || return 1
  # The cached virtualenv serves every checkout at once (clones, worktrees, CI):
  # this checkout's package comes first on the import path, so two checkouts that
  # share the venv never import each other's code.
  export PYTHONPATH="$ROOT/client${PYTHONPATH:+:$PYTHONPATH}"
  export PATH="$VENV/bin:$PATH"
  export VIRTUAL_ENV="$VENV"
}
if _dml_env; then
  unset -f _dml_env
  return 0
fi
unset -f _dml_env
echo "error: scripts/_env.sh could not set up the development environment (see above)." >&2
return 1
