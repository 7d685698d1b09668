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
    assert transfer["statuses"][:1] == ["Ready"] and transfer["statuses"][-1] == "Finalized"
    # inBlock and finalized arrive together (instant finality); PJ's switchMap may skip the InBlock callback.
    assert set(transfer["statuses"]) <= {"Ready", "InBlock", "Finalized"}
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
