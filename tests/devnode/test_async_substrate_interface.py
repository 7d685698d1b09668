"""async-substrate-interface 2.x (pinned, own virtualenv) through a task's lifecycle against the dev node."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from substrateinterface import Keypair

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).parent / "asi_flow.py"


def test_async_substrate_interface_creates_assigns_submits_and_accepts_a_task(devnode):
    python = os.environ.get("DECENTRALML_ASI_PYTHON")
    if not python or not Path(python).exists():
        pytest.fail("async-substrate-interface is not installed: run `. scripts/build-asi-venv.sh` (scripts/test.sh does) to set DECENTRALML_ASI_PYTHON")
    keys = {}
    for name in ("Alice", "Bob"):
        pair = Keypair.create_from_uri(f"//{name}", ss58_format=42)
        keys[name] = {"ss58": pair.ss58_address, "public": pair.public_key.hex(), "secret": pair.private_key.hex()}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([python, str(SCRIPT), devnode.url, json.dumps(keys)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, f"asi_flow.py failed:\n{done.stderr[-4000:]}"
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["chain"] == "Development"
    assert out["status_after_create"] == "Open"
    assert out["reward"] == 2 * 10**12 and out["bob_delta"] == 2 * 10**12
    assert out["second_accept"] == {"ok": False, "error": "NotAwaitingDecision"}
    assert out["status_at_end"] == "Completed"
