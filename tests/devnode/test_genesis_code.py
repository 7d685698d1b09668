"""Genesis holds the runtime's WebAssembly blob (``:code``), as a real node's does; a chain
made from another genesis (for example before ``:code`` was part of it) is refused."""

from __future__ import annotations

import dataclasses
import json
import shlex
from importlib import resources
from pathlib import Path

import pytest

from decentralml.devnode.node import DevNode
from decentralml.devnode.runtime import METADATA_PACKAGE, Runtime
from decentralml.devnode.runtime.artifacts import MAX_CODE_BYTES, ArtifactError, Artifacts, load_file_value
from decentralml.devnode.store import ChainStore
from decentralml.errors import ConfigError
from decentralml.primitives.hashing import blake2_256

SPEC = Path(__file__).resolve().parents[2] / "pallet-spec"
CODE = b":code"


def _chain_spec() -> dict:
    return json.loads((SPEC / "chainspec" / "development.raw.json").read_text())


def test_genesis_code_is_the_committed_blob() -> None:
    storage, _, _ = Runtime().genesis()
    blob = (SPEC / "metadata" / "decentralml_runtime.compact.compressed.wasm").read_bytes()
    assert storage[CODE] == blob
    assert blob[:8] == bytes.fromhex("52bc537646db8e05"), "sp_maybe_compressed_blob's zstd prefix"


def test_chain_spec_genesis_is_the_dev_node_genesis() -> None:
    spec = _chain_spec()
    storage, _, _ = Runtime().genesis()
    top = {bytes.fromhex(k[2:]): bytes.fromhex(v[2:]) for k, v in spec["genesis"]["raw"]["top"].items()}
    assert top == storage
    assert spec["properties"] == Runtime().properties()
    assert spec["chainType"] == "Development"


def _entry(data: bytes, **overrides: object) -> dict:
    return {"file": "blob.wasm", "length": len(data), "blake2_256": "0x" + blake2_256(data).hex(), **overrides}


def test_a_blob_that_is_not_the_named_one_is_refused() -> None:
    data = b"\0asm runtime"
    assert load_file_value(_entry(data), lambda name: data) == data
    with pytest.raises(ArtifactError, match="is not the one genesis names"):
        load_file_value(_entry(data), lambda name: data + b"x")
    with pytest.raises(ArtifactError, match="is not the one genesis names"):
        load_file_value(_entry(data, length=len(data) + 1), lambda name: data)
    with pytest.raises(ArtifactError, match="invalid file"):
        load_file_value(_entry(data, file="../genesis.json"), lambda name: data)
    with pytest.raises(ArtifactError, match="invalid file"):
        load_file_value(_entry(data, length=MAX_CODE_BYTES + 1), lambda name: data)
    with pytest.raises(ArtifactError, match="malformed"):
        load_file_value({"file": "blob.wasm"}, lambda name: data)

    def missing(name: str) -> bytes:
        raise FileNotFoundError(name)

    with pytest.raises(ArtifactError, match="is missing"):
        load_file_value(_entry(data), missing)


def test_a_chain_from_another_genesis_is_refused_with_the_purge_command(tmp_path: Path) -> None:
    # The chain a dev node wrote before genesis held :code.
    old_store = ChainStore.open(tmp_path)
    old = DevNode(Runtime(artifacts=_artifacts_without_code()), old_store)
    old.start()
    old_genesis = old.genesis_hash
    old_store.close()
    store = ChainStore.open(tmp_path)
    try:
        node = DevNode(Runtime(), store)
        with pytest.raises(ConfigError, match="made by a different runtime") as raised:
            node.start()
        assert raised.value.hint is not None
        assert f"decentralml devnode purge --base-path {shlex.quote(str(tmp_path))}" in raised.value.hint
        assert old_genesis != Runtime().genesis()[2]
    finally:
        store.close()


def _artifacts_without_code() -> Artifacts:
    art = Artifacts.load(lambda name: resources.files(METADATA_PACKAGE).joinpath(name).read_bytes())
    return dataclasses.replace(art, genesis_storage={k: v for k, v in art.genesis_storage.items() if k != CODE})
