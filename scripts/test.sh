#!/usr/bin/env bash
# Runs every test of the project: cargo test for pallet-spec, then pytest.
# Installs what it needs on a fresh machine; builds are cached outside the clone
# (DECENTRALML_CACHE, default ~/.cache/decentralml-build). Extra arguments go to pytest.
set -euo pipefail
. "$(dirname "$0")/_env.sh"
cd "$ROOT"

# Server binaries for the integration tests (MinIO, Kubo) and the @polkadot/api test client.
. "$ROOT/scripts/build-services.sh"
. "$ROOT/scripts/build-node-deps.sh"

# bubblewrap: the sandbox tasks run in (tests/sandbox, the federated end-to-end tests).
if ! command -v bwrap >/dev/null 2>&1; then
  echo "== installing bubblewrap (the task sandbox)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update && $SUDO apt-get install -y bubblewrap
fi

echo "== lint-imports (the layer contract in pyproject.toml)" >&2
lint-imports

echo "== cargo test (pallet-spec)" >&2
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/cargo-target}"
(cd "$ROOT/pallet-spec" && cargo test --workspace --locked)

echo "== pytest" >&2
python -m pytest "$@"
