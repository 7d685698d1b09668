# Sourced by the other scripts: a virtualenv cached outside the clone, keyed on
# the dependency lists in pyproject.toml, with the package installed editable.
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
# The editable install points at this clone; re-point it when the clone moved.
if ! "$VENV/bin/python" -c "import decentralml, sys; sys.exit(0 if decentralml.__file__.startswith('$ROOT/') else 1)" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --no-deps -e "$ROOT"
fi
export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"
