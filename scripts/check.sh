#!/usr/bin/env bash
# Static checks, all configured in pyproject.toml; fails on the first that fails:
#   ruff    lint (pycodestyle errors, pyflakes, bugbear, import order) of the whole tree
#   mypy    types of the package (client/decentralml)
#   deptry  every package the code imports is declared, every declared one is used
#   lint-imports  the layer contract (import-linter)
#   locks   requirements/*.lock still satisfy pyproject.toml (scripts/lock.sh rewrites them)
# Runs in the cached development venv (scripts/_env.sh); called by scripts/test.sh.
set -euo pipefail
. "$(dirname "$0")/_env.sh"
cd "$ROOT"
echo "== ruff" >&2
ruff check --quiet client tests scripts assets
echo "== mypy" >&2
mypy
echo "== deptry" >&2
deptry client
echo "== lint-imports" >&2
lint-imports
echo "== locks" >&2
python scripts/check_locks.py
