#!/usr/bin/env bash
# The initiator's step (initiator/participants split learning): ./start_task.sh --data FILE --result DIR [--result DIR ...] [--base-model PATH]
#                                                   [--test FILE] [--output DIR]
#
#   --data FILE         | DECENTRALML_DATA         the initiator's own private CSV (trains the main model)
#   --result DIR        (repeatable)               a participant's result directory (weights.safetensors)
#   --base-model PATH   | DECENTRALML_BASE_MODEL   the task's base model; default: ../participant/base_model.safetensors
#   --test FILE         | DECENTRALML_TEST         optional held-out CSV: test accuracy goes into metrics.json
#   --strategy NAME     | DECENTRALML_STRATEGY     fedavg (default, weighted by samples), median, trimmed-mean, krum
#   --output DIR        | DECENTRALML_OUTPUT_DIR   where the main model goes (created; must be empty); default: ./main_model
# The participants' server halves are averaged weighted by their sample counts (with their optimizer state),
# or combined by a robust rule that ignores the self-reported counts;
# the main model is the initiator's client half plus that server half, trained on the initiator's data.
# Output: DIR/weights.safetensors (both halves) and DIR/metrics.json; one JSON line on stdout; exit 0 on success.
# `decentralml split aggregate` does the same from the chain (verifying every participant's lineage first).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${DECENTRALML_PYTHON:-python3}"
command -v "$PY" >/dev/null 2>&1 || { echo "error: $PY not found; install Python 3.11+ or set DECENTRALML_PYTHON." >&2; exit 3; }
# find_spec only locates the packages (importing torch twice would double the start-up time)
if ! "$PY" -c "import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ('decentralml', 'torch', 'safetensors')))" 2>/dev/null; then
  echo "error: $PY lacks the decentralml client or PyTorch; install them (pip install -e '.[ml]') or set DECENTRALML_PYTHON." >&2
  exit 3
fi
exec "$PY" "$HERE/initiator.py" "$@"
