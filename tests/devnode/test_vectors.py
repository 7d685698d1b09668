"""Replay every pallet-spec conformance vector through the Python runtime, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decentralml.devnode.runtime import DictState, Runtime
from decentralml.devnode.runtime.artifacts import storage_value
from decentralml.devnode.runtime.keys import account as account_key
from decentralml.devnode.runtime.types import AccountInfo

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "pallet-spec"
VECTORS = sorted((SPEC / "vectors").glob("*.json"))
PACKAGED = ROOT / "client" / "decentralml" / "devnode" / "metadata"


def _b(h: str | None) -> bytes | None:
    return None if h is None else bytes.fromhex(h[2:] if h.startswith("0x") else h)


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _state(dump: dict) -> dict[bytes, bytes]:
    """A storage dump of pallet-spec: hex values, ``:code`` named by its file in metadata/."""
    return {_b(k): storage_value(v, lambda name: (SPEC / "metadata" / name).read_bytes()) for k, v in dump.items()}  # type: ignore[misc]


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime()


def test_every_vector_kind_is_replayed() -> None:
    kinds = {_load(p)["kind"] for p in VECTORS}
    assert kinds == {"blocks", "dispatch", "validity", "runtime_api"}, "a new kind of vector needs a replay test here"
    assert all(_load(p)["format"] == "decentralml-vectors/1" for p in VECTORS)


@pytest.mark.parametrize("name", sorted(p.name for p in (SPEC / "metadata").iterdir()))
def test_packaged_artifacts_equal_pallet_spec(name: str) -> None:
    assert (PACKAGED / name).read_bytes() == (SPEC / "metadata" / name).read_bytes()


def test_genesis_matches_pallet_spec(runtime: Runtime) -> None:
    spec = _load(SPEC / "metadata" / "genesis.json")
    storage, header, genesis_hash = runtime.genesis()
    assert {k: v for k, v in storage.items()} == _state(spec["storage"])
    assert header == _b(spec["header"]["encoded"])
    assert genesis_hash == _b(spec["genesis_hash"])
    assert runtime.state_root(DictState(storage)) == _b(spec["state_root"])


def test_runtime_version_matches_pallet_spec(runtime: Runtime) -> None:
    assert runtime.runtime_version() == _load(SPEC / "metadata" / "runtime_version.json")


def _check_balances(state: DictState, accounts: dict, expected: dict, where: str) -> None:
    for name, want in expected.items():
        raw = state.get(account_key(_b(accounts[name]["account_id"])))  # type: ignore[arg-type]
        info = AccountInfo.decode(raw) if raw else AccountInfo()
        got = {
            "consumers": info.consumers, "free": str(info.free), "frozen": str(info.frozen),
            "nonce": info.nonce, "providers": info.providers, "reserved": str(info.reserved),
        }  # fmt: skip
        assert got == want, f"{where}: balances of {name}"


DISPATCH = [p for p in VECTORS if _load(p)["kind"] == "dispatch"]
BLOCKS = [p for p in VECTORS if _load(p)["kind"] == "blocks"]


@pytest.mark.parametrize("path", DISPATCH, ids=lambda p: p.stem)
def test_dispatch_vector(runtime: Runtime, path: Path) -> None:
    vec = _load(path)
    storage, _header, _hash = runtime.genesis()
    state = DictState(storage)
    assert runtime.state_root(state) == _b(vec["genesis_state_root"])
    accounts = vec["accounts"]
    for step in vec["steps"]:
        where = f"{path.stem} step {step['index']} ({step['label']})"
        origin = step["origin"]
        who = None if origin == "none" else _b(accounts[origin["signed"]]["account_id"])
        out = runtime.dispatch(state, who, _b(step["call"]["call_hex"]), step["block_number"], step["timestamp"])
        result = step["result"]
        assert out.error == (None if result["ok"] else _b(result["dispatch_error_hex"])), where
        assert out.events == (_b(step["events_raw"]) or b"\x00"), where
        assert (out.weight.ref_time, out.weight.proof_size) == (step["weight"]["ref_time"], step["weight"]["proof_size"])
        assert out.changes == {_b(k): _b(v) for k, v in step["changes"].items()}, where
        state.apply(out.changes)
        assert runtime.state_root(state) == _b(step["storage_root"]), where
        prefix = bytes.fromhex("ba12182530059a65f8f0800cfdbb38e0")  # twox128("DecentralMLModule")
        pallet = {k: v for k, v in state.items.items() if k.startswith(prefix)}
        assert pallet == {_b(k): _b(v) for k, v in step["pallet_storage"].items()}, where
        _check_balances(state, accounts, step["balances"], where)


@pytest.mark.parametrize("path", BLOCKS, ids=lambda p: p.stem)
def test_block_vector(path: Path) -> None:
    # A fresh runtime: the setup state is not the genesis state, yet block 1's
    # parent is the genesis hash, and a runtime caches each block's trie by hash.
    runtime = Runtime()
    vec = _load(path)
    state = DictState(_state(vec["setup"]["state"]))
    assert runtime.state_root(state) == _b(vec["setup"]["storage_root"])
    for block in vec["blocks"]:
        where = f"{path.stem} block {block['number']}"
        xts = [_b(x["extrinsic_hex"]) for x in block["extrinsics"]]
        assert xts[0] is not None
        for x in block["extrinsics"][1:]:
            valid = runtime.validate_transaction(state, _b(x["extrinsic_hex"]), _b(block["parent_hash"]))  # type: ignore[arg-type]
            assert valid.sender == _b(next(a["account_id"] for a in vec["accounts"].values() if a["what"] == x["signer"]))
        result = runtime.build_block(state, _b(block["parent_hash"]), block["number"], block["timestamp"], xts[1:])  # type: ignore[arg-type]
        assert result.rejected == [], where
        assert result.extrinsics == xts, where
        assert result.timestamp_ms == block["timestamp"]
        assert result.events == _b(block["events_raw"]), where
        state.apply(result.changes)
        assert state.items == _state(block["state"]), where
        assert result.header == _b(block["header"]["encoded"]), where
        assert result.hash == _b(block["header"]["hash"]), where
        _check_balances(state, vec["accounts"], block["balances"], where)


def _state_after_signed_block_1(runtime: Runtime) -> tuple[DictState, bytes]:
    blocks = _load(SPEC / "vectors" / "signed_blocks.json")["blocks"]
    return DictState(_state(blocks[0]["state"])), _b(blocks[0]["header"]["hash"])  # type: ignore[misc]


@pytest.mark.parametrize("path", [p for p in VECTORS if _load(p)["kind"] == "validity"], ids=lambda p: p.stem)
def test_validity_vector(runtime: Runtime, path: Path) -> None:
    vec = _load(path)
    state = DictState(_state(vec["state"]))
    assert runtime.state_root(state) == _b(vec["storage_root"])
    sources = {"InBlock": 0, "Local": 1, "External": 2}
    for case in vec["cases"]:
        data = bytes((sources[case["source"]],)) + _b(case["extrinsic_hex"]) + _b(vec["block_hash"])  # type: ignore[operator]
        out = runtime.state_call(state, "TaggedTransactionQueue_validate_transaction", data)
        assert out == _b(case["result_hex"]), case["label"]


@pytest.mark.parametrize("path", [p for p in VECTORS if _load(p)["kind"] == "runtime_api"], ids=lambda p: p.stem)
def test_runtime_api_vector(runtime: Runtime, path: Path) -> None:
    vec = _load(path)
    state, block_hash = _state_after_signed_block_1(runtime)
    assert block_hash == _b(vec["block_hash"]) and runtime.state_root(state) == _b(vec["storage_root"])
    from decentralml.primitives.hashing import blake2_256

    for call in vec["calls"]:
        out = runtime.state_call(state, call["method"], _b(call["input_hex"]))  # type: ignore[arg-type]
        where = f"{call['method']} ({call['what']})"
        assert len(out) == call["output_len"] and blake2_256(out) == _b(call["output_blake2_256"]), where
        if call["output_hex"] is not None:
            assert out == _b(call["output_hex"]), where
