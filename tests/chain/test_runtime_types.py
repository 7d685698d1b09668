"""The runtime types cache: keyed by genesis, spec version and metadata digest, JSON only, rebuilt on a miss.

The dev node cannot perform a runtime upgrade (it has no ``System.set_code``), so the upgrade is
simulated: the real node's answers pass through, except ``state_getRuntimeVersion`` (a new spec
version) or ``state_getMetadata`` (new metadata bytes), which is what a client sees after one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from substrateinterface import SubstrateInterface

from decentralml.chain import runtime_types
from decentralml.chain.runtime_types import RuntimeTypes, load_runtime_types
from tests.devnode.sichain import keypair

pytestmark = pytest.mark.integration


@pytest.fixture
def substrate(shared_devnode: Any) -> Any:
    connection = SubstrateInterface(url=shared_devnode.url, ss58_format=42)
    yield connection
    connection.close()


DOC = " The id the next created task gets.".encode().hex()
EDITED_DOC = " The id the next created tusk gets.".encode().hex()


def _rpc(substrate: Any, spec_bump: int = 0, edit_docs: bool = False) -> Any:
    def call(method: str, params: list[Any]) -> Any:
        result = substrate.rpc_request(method, params)["result"]
        if method == "state_getRuntimeVersion":
            result = dict(result, specVersion=result["specVersion"] + spec_bump)
        if method == "state_getMetadata" and edit_docs:
            assert DOC in result
            result = result.replace(DOC, EDITED_DOC)  # new metadata bytes of the same length: a new digest
        return result

    return call


def _decodes_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = RuntimeTypes.from_metadata.__func__  # type: ignore[attr-defined]

    def counted(cls: type, raw: bytes) -> RuntimeTypes:
        calls.append(len(raw))
        return real(cls, raw)

    monkeypatch.setattr(RuntimeTypes, "from_metadata", classmethod(counted))
    return calls


def test_cache_is_written_once_and_read_back(substrate: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    decodes = _decodes_counted(monkeypatch)
    first = load_runtime_types(_rpc(substrate), tmp_path)
    files = list(tmp_path.iterdir())
    assert len(decodes) == 1 and len(files) == 1
    genesis = substrate.get_block_hash(0)[2:]
    spec = substrate.rpc_request("state_getRuntimeVersion", [])["result"]["specVersion"]
    assert files[0].name.startswith(f"{genesis}-{spec}-") and files[0].suffix == ".json"
    json.loads(files[0].read_text())  # plain data
    second = load_runtime_types(_rpc(substrate), tmp_path)
    assert len(decodes) == 1  # read from the cache, not decoded again
    assert second.storage == first.storage


def test_a_runtime_upgrade_misses_the_cache(substrate: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    decodes = _decodes_counted(monkeypatch)
    load_runtime_types(_rpc(substrate), tmp_path)
    load_runtime_types(_rpc(substrate, spec_bump=1), tmp_path)  # new spec version
    assert len(decodes) == 2 and len(list(tmp_path.iterdir())) == 2
    load_runtime_types(_rpc(substrate, spec_bump=1, edit_docs=True), tmp_path)  # same version, new metadata
    assert len(decodes) == 3 and len(list(tmp_path.iterdir())) == 3
    load_runtime_types(_rpc(substrate, spec_bump=1), tmp_path)
    assert len(decodes) == 3


def test_a_corrupt_cache_file_is_rebuilt(substrate: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_runtime_types(_rpc(substrate), tmp_path)
    (path,) = tmp_path.iterdir()
    for bad in ("not json", json.dumps({"format": 999}), json.dumps({"format": 1, "registry": 5, "storage": {}})):
        path.write_text(bad)
        decodes = _decodes_counted(monkeypatch)
        types = load_runtime_types(_rpc(substrate), tmp_path)
        assert len(decodes) == 1 and "System.Account" in types.storage
        monkeypatch.undo()


def test_keys_and_values_match_substrate_interface(substrate: Any, tmp_path: Path) -> None:
    types = load_runtime_types(_rpc(substrate), tmp_path)
    types = load_runtime_types(_rpc(substrate), tmp_path)  # from the cache
    alice = keypair("Alice").ss58_address
    key = types.storage_key("System", "Account", [alice])
    assert key == substrate.create_storage_key("System", "Account", [alice]).to_hex()
    raw = substrate.rpc_request("state_getStorage", [key])["result"]
    assert types.value("System", "Account", raw) == substrate.query("System", "Account", [alice]).value
    assert types.value("System", "Account", None)["data"]["free"] == 0  # the item's default
    assert types.value("DecentralMLModule", "Tasks", None) is None  # an optional item
    prefix = types.storage_key("DecentralMLModule", "TaskSubmissions", [3])
    assert prefix == substrate.create_storage_key("DecentralMLModule", "TaskSubmissions", [3]).to_hex()


def test_cache_path_names_the_runtime() -> None:
    path = runtime_types.cache_path(Path("/c"), "0xab", 7, bytes(range(32)))
    assert path == Path("/c/ab-7-000102030405060708090a0b0c0d0e0f.json")
