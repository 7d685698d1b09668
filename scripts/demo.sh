#!/usr/bin/env bash
# The main job end to end: a fresh dev chain, a creator and three contributors, federated rounds.
#   scripts/demo.sh            rich tables: accuracy per round, verdicts, balance changes
#   scripts/demo.sh --json     exactly one JSON object on stdout
#   scripts/demo.sh --framework tensorflow --rounds 3 --strategy median --poison-rounds ''
# Uses the dev chain's well-known accounts (//Alice creator; //Bob, //Charlie, //Dave contributors).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
exec python "$ROOT/scripts/demo.py" "$@"
