#!/usr/bin/env bash
# Run one split-learning contribution: ./start_task.sh --data FILE [--base-model PATH] [--output DIR]
#
# Contract (arguments win over environment variables; same shape as assets/model_contributor/start_task.sh):
#   --data FILE         | DECENTRALML_DATA         your private CSV (header, feature columns, a 'target' column)
#   --base-model PATH   | DECENTRALML_BASE_MODEL   the checkpoint to start from (safetensors): the task's base model,
#                                                  or in round robin the previous turn's weights.safetensors;
#                                                  default: base_model.safetensors in this bundle
#   --output DIR        | DECENTRALML_OUTPUT_DIR   where the result goes (created; must be empty); default: ./result
# The protocol, the network (and its cut layer) and the training settings come from config.json in this bundle.
# Output: DIR/weights.safetensors and DIR/metrics.json; one JSON line on stdout; exit 0 on success.
# Initiator/participant tasks return only the server half and its optimizer state (your client half stays here);
# round-robin turns return both halves for the next contributor.
#
# Environment: needs a Python with the decentralml client and PyTorch (pip install -e '.[ml]' in the
# repository); set DECENTRALML_PYTHON to choose it. The bundle never sees your signing key.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${DECENTRALML_PYTHON:-python3}"
command -v "$PY" >/dev/null 2>&1 || { echo "error: $PY not found; install Python 3.11+ or set DECENTRALML_PYTHON." >&2; exit 3; }
# find_spec only locates the packages (importing torch twice would double the start-up time)
if ! "$PY" -c "import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ('decentralml', 'torch', 'safetensors')))" 2>/dev/null; then
  echo "error: $PY lacks the decentralml client or PyTorch; install them (pip install -e '.[ml]') or set DECENTRALML_PYTHON." >&2
  exit 3
fi
exec "$PY" "$HERE/split_task.py" "$@"
