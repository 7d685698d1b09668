"""subxt-cli (crates.io, pinned in scripts/build-subxt.sh) against the dev node: `metadata`,
`codegen` and `chain-spec`, each checked against what the node itself serves.

The binary comes from ``DECENTRALML_SUBXT``, set by ``scripts/build-subxt.sh`` (sourced by
scripts/test.sh), which builds it once into the build cache.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
CODE_KEY = "0x3a636f6465"  # ":code"


def subxt(*args: str) -> str:
    binary = os.environ.get("DECENTRALML_SUBXT")
    if not binary or not Path(binary).is_file():
        pytest.fail(
            "subxt-cli is not built: run `. scripts/build-subxt.sh` (scripts/test.sh does; the first build takes "
            "about half an hour) to set DECENTRALML_SUBXT"
        )
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"subxt {' '.join(args)} failed:\n{done.stderr[-4000:]}"
    return done.stdout


def scale_bytes(option_vec_hex: str) -> bytes:
    """The bytes of a SCALE ``Option<Vec<u8>>`` (Metadata_metadata_at_version's answer)."""
    raw = bytes.fromhex(option_vec_hex[2:])
    assert raw[0] == 1, "no metadata at that version"
    mode = raw[1] & 3
    offset = {0: 1, 1: 2, 2: 4}[mode]  # compact length prefix (big-integer mode not needed under 1 GiB)
    return raw[1 + offset :]


def test_subxt_metadata_is_the_nodes_latest_metadata(shared_devnode, tmp_path):
    url = shared_devnode.url
    out = tmp_path / "metadata.scale"
    subxt("metadata", "--url", url, "--allow-insecure", "--format", "bytes", "--output-file", str(out))
    fetched = out.read_bytes()
    assert fetched[:4] == b"meta"
    version = fetched[4]
    versions = shared_devnode.rpc("state_call", ["Metadata_metadata_versions", "0x"])
    assert version == 15 and versions == "0x080e0000000f000000"  # subxt takes the latest the runtime offers
    served = shared_devnode.rpc("state_call", ["Metadata_metadata_at_version", "0x" + version.to_bytes(4, "little").hex()])
    assert fetched == scale_bytes(served)
    as_json = json.loads(subxt("metadata", "--url", url, "--allow-insecure", "--format", "json"))
    pallets = {pallet["name"] for pallet in as_json[1]["V15"]["pallets"]}
    assert {"System", "Timestamp", "Balances", "TransactionPayment", "Sudo", "DecentralMLModule"} <= pallets


def test_subxt_codegen_generates_the_runtime_api(shared_devnode):
    code = subxt("codegen", "--url", shared_devnode.url, "--allow-insecure", "--no-docs")
    tokens = "".join(code.split())  # codegen prints a token stream: compare without whitespace
    assert "pubmodapi{" in tokens
    for module in ("decentral_ml_module", "balances", "system", "transaction_payment", "sudo"):
        assert f"pubmod{module}{{" in tokens, module
    # The pallet's create_task call, with its arguments in metadata order, and its Tasks storage entry.
    assert (
        "pubfncreate_task(&self,task_type:super::create_task::TaskType,question:super::create_task::Question,"
        "pays_amount:super::create_task::PaysAmount," in tokens
    )
    assert "pubfntasks(" in tokens
    assert "pubmodaccount_nonce_api{" in tokens  # runtime APIs, from the V15 metadata


def test_subxt_chain_spec_is_the_committed_raw_chain_spec(shared_devnode, tmp_path):
    out = tmp_path / "spec.json"
    subxt("chain-spec", "--url", shared_devnode.url, "--output-file", str(out))
    spec = json.loads(out.read_text())
    committed = json.loads((ROOT / "pallet-spec" / "chainspec" / "development.raw.json").read_text())
    assert spec["name"] == "Development" and spec["id"] == "dev"
    assert spec["properties"] == shared_devnode.rpc("system_properties")
    top = spec["genesis"]["raw"]["top"]
    assert top == committed["genesis"]["raw"]["top"]  # the node's genesis is the committed one
    genesis = shared_devnode.rpc("chain_getBlockHash", [0])
    assert top[CODE_KEY] == shared_devnode.rpc("state_getStorage", [CODE_KEY, genesis])
