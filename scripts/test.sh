#!/usr/bin/env bash
# Runs every test of the project: the static checks (scripts/check.sh), the
# base-install suite (every test that trains no model), cargo test for pallet-spec,
# then the tests that train models (marker `ml`) in the full venv: each test runs once.
# Installs what it needs on a fresh machine; builds are cached outside the clone
# (DECENTRALML_CACHE, default ~/.cache/decentralml-build). Extra arguments go to
# the last pytest run (the `ml` tests).
set -euo pipefail
. "$(dirname "$0")/_env.sh"
cd "$ROOT"

# Server binaries for the integration tests (MinIO, Kubo), the @polkadot/api and polkadot-api
# test clients, and the async-substrate-interface virtualenv.
. "$ROOT/scripts/build-services.sh"
. "$ROOT/scripts/build-node-deps.sh"
. "$ROOT/scripts/build-asi-venv.sh"
# chopsticks, which runs the runtime's WebAssembly blob as the integration tests' second chain.
. "$ROOT/scripts/build-chopsticks.sh"
# subxt-cli (rustup's cargo; 7 to 30 min the first time, then cached), for tests/devnode/test_subxt.py.
. "$ROOT/scripts/build-subxt.sh"

# Headless Chromium for the test that opens a job report in a browser (Debian package `chromium`).
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing chromium (apt-get) for the report test..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: chromium is not installed and this is not root: the report browser test will be skipped" \
         "(install it with: sudo apt-get install -y chromium)" >&2
  fi
fi

# bubblewrap: the sandbox tasks run in (tests/sandbox, the federated end-to-end tests).
if ! command -v bwrap >/dev/null 2>&1; then
  echo "== installing bubblewrap (the task sandbox)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update && $SUDO apt-get install -y bubblewrap
fi

echo "== checks: ruff, mypy, deptry, import-linter, locks" >&2
"$ROOT/scripts/check.sh"

# The client as a contributor installs it: the base dependencies and the test
# tools only (requirements/test.lock: no TensorFlow, PyTorch or Flower), every
# test that does not train a model, so an undeclared dependency fails here.
# The install-marked tests (a fresh venv at the lowest and the highest locked
# versions) run here only.
echo "== pytest, base install (no ml extra)" >&2
BASE_VENV="$(dml_lock_venv base-test "$ROOT/requirements/test.lock" --with-package)"
PATH="$BASE_VENV/bin:$PATH" VIRTUAL_ENV="$BASE_VENV" "$BASE_VENV/bin/python" -m pytest -m "not ml" -p no:cacheprovider

# Debian's Rust toolchain with the wasm32v1-none sysroot; pallet-spec builds its runtime's
# WebAssembly blob (build.rs) and its tests check it against the committed one.
. "$ROOT/scripts/build-wasm-toolchain.sh"
echo "== cargo test (pallet-spec, with the WebAssembly runtime blob)" >&2
pallet_cargo test --workspace --locked

# The tests that train models need the ml extra (TensorFlow, PyTorch, Flower); every other
# test already ran above, in the environment a contributor installs.
echo "== pytest, full install (tests marked ml)" >&2
python -m pytest -m "ml and not install" "$@"
