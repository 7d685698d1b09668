"""@polkadot/api 16.x (npm, pinned) against the dev node, driven through `node`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).parent / "js" / "polkadot_flow.mjs"


def run_js(url: str) -> dict:
    modules = os.environ.get("DECENTRALML_NODE_MODULES")
    if not modules or not Path(modules, "@polkadot", "api").is_dir():
        pytest.fail("@polkadot/api is not installed: run `. scripts/build-node-deps.sh` (scripts/test.sh does) to set DECENTRALML_NODE_MODULES")
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js) is not on PATH: install nodejs to run the @polkadot/api tests")
    done = subprocess.run([node, str(SCRIPT), url], capture_output=True, text=True, timeout=180, env=dict(os.environ))
    assert done.returncode == 0, f"polkadot_flow.mjs failed:\n{done.stderr}\n{done.stdout}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_polkadot_api_connects_signs_mortal_transfers_and_creates_a_task(devnode):
    out = run_js(devnode.url)
    assert out["chain"] == "Development"
    assert out["specName"] == "decentralml"
    assert out["ss58"] == 42 and out["decimals"] == 12 and out["symbol"] == "UNIT"
    assert out["metadataVersion"] >= 14
    assert "DecentralMLModule" in out["pallets"]
    transfer = out["transfer"]
    # Finality follows import (--finality-delay), so PJ's signAndSend reports every status, as on a node.
    assert transfer["statuses"] == ["Ready", "InBlock", "Finalized"]
    assert transfer["mortal"] is True
    assert out["inherent"] == {"call": "timestamp.set", "signed": False, "firstByte": 5}
    assert transfer["bobDelta"] == str(1_234_000_000_000)
    assert "balances.Transfer" in transfer["events"] and "system.ExtrinsicSuccess" in transfer["events"]
    assert len(transfer["fee"]) == 1 and int(transfer["fee"][0]) > 0
    created = out["createTask"]
    assert "error" not in created, created
    assert "system.ExtrinsicSuccess" in created["events"]
    assert any(name.endswith(".TaskCreated") for name in created["events"])
    assert out["nextTaskId"] == str(len(out["tasks"]))
    assert out["tasks"][0]["task"]["question"] == "Train the digits model for one epoch"
    phases = {e["name"]: e["phase"] for e in out["eventsAtCreate"]}
    assert any(p.startswith("{\"applyExtrinsic\"") for p in phases.values())


def test_polkadot_api_sign_and_send_sees_every_status_with_block_time(tmp_path):
    from tests.fixtures.devnode import start_devnode

    node = start_devnode(tmp_path / "interval", "--block-time", "0.5")
    try:
        out = run_js(node.url)
    finally:
        node.stop()
    # Finality trails the best block by one block (--finality-lag), so InBlock comes a block before Finalized.
    assert out["transfer"]["statuses"] == ["Ready", "InBlock", "Finalized"]
    assert "error" not in out["createTask"], out["createTask"]
