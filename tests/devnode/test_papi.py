"""polkadot-api (PAPI 2.x, npm, pinned) against the dev node, driven through `node`.

Three providers: the new JSON-RPC interface alone (``raw``), PAPI's default
(``hybrid``) and its legacy bridge alone (``legacy``). PAPI names each runtime by
the hash of the ``:code`` storage entry, which genesis holds as a node's does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).parent / "js" / "papi_flow.mjs"
CODE_KEY = "0x3a636f6465"  # ":code"


def run_papi(url: str, mode: str) -> dict:
    modules = os.environ.get("DECENTRALML_NODE_MODULES")
    if not modules or not Path(modules, "polkadot-api").is_dir():
        pytest.fail("polkadot-api is not installed: run `. scripts/build-node-deps.sh` (scripts/test.sh does) to set DECENTRALML_NODE_MODULES")
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js) is not on PATH: install nodejs to run the polkadot-api tests")
    # ES modules resolve bare imports from the script's own directory only (NODE_PATH does not
    # apply): run a copy of the script next to a node_modules link to the cached install.
    with tempfile.TemporaryDirectory() as work:
        script = Path(work) / SCRIPT.name
        shutil.copyfile(SCRIPT, script)
        Path(work, "node_modules").symlink_to(modules, target_is_directory=True)
        # Node 20 has the WebSocket global PAPI uses only behind this flag (Node >= 22 has it by default).
        done = subprocess.run(
            [node, "--experimental-websocket", str(script), url, mode], capture_output=True, text=True, timeout=180, env=dict(os.environ)
        )
    assert done.returncode == 0, f"papi_flow.mjs {mode} failed:\n{done.stderr[-4000:]}\n{done.stdout[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["raw", "hybrid", "legacy"])
def test_polkadot_api_reads_transfers_and_creates_a_task(devnode, mode):
    assert devnode.rpc("state_getStorageHash", [CODE_KEY]) is not None  # genesis holds the runtime's blob
    out = run_papi(devnode.url, mode)
    assert out["genesis"] == devnode.rpc("chain_getBlockHash", [0])
    assert out["ss58"] == 42
    for flow in (out["transfer"], out["createTask"]):
        assert flow["ok"] is True
        assert flow["seen"][0] == "signed" and flow["seen"][-1] == "finalized" and "best:true" in flow["seen"]
        assert "System.ExtrinsicSuccess" in flow["events"]
        assert flow["index"] == 1  # after the timestamp inherent
    assert out["bobDelta"] == str(1_234_000_000_000)
    assert "DecentralMLModule.TaskCreated" in out["createTask"]["events"]
    assert out["tasks"] == [{"id": 0, "question": "Train the digits model for one epoch"}]
    assert out["nextTaskId"] == 1
