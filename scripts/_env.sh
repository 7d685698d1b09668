# Sourced by the other scripts: a virtualenv cached outside the clone, keyed on
# the dependency lists in pyproject.toml; this checkout's package is imported from
# its own client/ directory.
# Usage: . scripts/_env.sh   (sets ROOT, CACHE, VENV and activates the venv)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${DECENTRALML_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/decentralml-build}"
mkdir -p "$CACHE"
PY="${PYTHON:-python3}"
deps_key="$("$PY" - "$ROOT/pyproject.toml" <<'PYEOF'
import hashlib, json, sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
keyed = [project.get("requires-python"), project.get("dependencies"), project.get("optional-dependencies")]
print(hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:16])
PYEOF
)"
VENV="$CACHE/venv-$deps_key"
if [ ! -f "$VENV/.complete" ]; then
  echo "Installing Python dependencies into $VENV (first run only; this takes several minutes)..." >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -e "$ROOT[ml,test]"
  touch "$VENV/.complete"
fi
# The cached virtualenv serves every checkout at once (clones, worktrees, CI):
# this checkout's package comes first on the import path, so two checkouts that
# share the venv never import each other's code.
export PYTHONPATH="$ROOT/client${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"
