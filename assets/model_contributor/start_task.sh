#!/usr/bin/env bash
# Run this contribution: ./start_task.sh [--global-model PATH] [--output DIR] (--contributor-index N | --data FILE)
#
# Contract (arguments win over environment variables):
#   --global-model PATH       | DECENTRALML_GLOBAL_MODEL       the round's global model (safetensors);
#                                                               default: base_model in this directory (put there by
#                                                               `decentralml assign-task`), else global_model.safetensors
#   --output DIR              | DECENTRALML_OUTPUT_DIR         where the result goes (created; must be empty);
#                                                               default: ./result
#   --contributor-index N     | DECENTRALML_CONTRIBUTOR_INDEX  your shard of the creator's dataset (0-based,
#                                                               < num_contributors in settings.py)
#   --data FILE               | DECENTRALML_DATA               or your own data: .csv (features..., label) or .npz (x, y)
#   --contributor-id ID       | DECENTRALML_CONTRIBUTOR_ID     recorded in metrics.json (default: random)
#   --debug                   | DECENTRALML_DEBUG              show TensorFlow's start-up logging (hidden by default)
# Output: DIR/weights.safetensors and DIR/metrics.json; one JSON line on stdout; exit 0 on success.
#
# Environment: if the current python3 (or $DECENTRALML_PYTHON) already satisfies requirements.txt it is
# used as is; otherwise a virtualenv is created once in
# ${XDG_CACHE_HOME:-~/.cache}/decentralml/bundle-venvs/<sha256 of requirements.txt> and the requirements
# are installed into it. No manual step.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${DECENTRALML_PYTHON:-python3}"
command -v "$PY" >/dev/null 2>&1 || { echo "error: $PY not found; install Python 3.10+ or set DECENTRALML_PYTHON." >&2; exit 3; }

satisfied() {
  "$1" - "$HERE/requirements.txt" <<'PYEOF'
import sys
from importlib import metadata
try:
    from packaging.requirements import Requirement
except ImportError:
    try:
        from pip._vendor.packaging.requirements import Requirement
    except ImportError:
        Requirement = None
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    if Requirement is None:
        name, spec = line.split(">")[0].split("=")[0].split("<")[0].strip(), None
    else:
        req = Requirement(line)
        name, spec = req.name, req.specifier
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        sys.exit(1)
    if spec is not None and version not in spec and not spec.contains(version, prereleases=True):
        sys.exit(1)
sys.exit(0)
PYEOF
}

if satisfied "$PY" 2>/dev/null; then
  RUN_PY="$PY"
else
  key="$("$PY" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest()[:16])' "$HERE/requirements.txt")"
  VENV="${XDG_CACHE_HOME:-$HOME/.cache}/decentralml/bundle-venvs/$key"
  if [ ! -f "$VENV/.complete" ]; then
    echo "Installing the task's requirements into $VENV (first run only)..." >&2
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet -r "$HERE/requirements.txt" >&2
    touch "$VENV/.complete"
  fi
  RUN_PY="$VENV/bin/python"
fi
exec "$RUN_PY" "$HERE/model_contributor.py" "$@"
