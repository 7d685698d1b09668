"""Reads over plain JSON-RPC: no substrate-interface import, node errors as ChainError, signing still works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from decentralml.chain import ChainClient
from decentralml.chain.rpc import LazySubstrate, RpcRefused
from decentralml.errors import ChainError, NotFoundError
from tests.devnode.sichain import keypair

pytestmark = pytest.mark.integration

READS = """
import sys
from pathlib import Path
from decentralml.chain import ChainClient, TaskFilter
with ChainClient.connect(sys.argv[1], cache_dir=Path(sys.argv[2])) as client:
    client.balance(sys.argv[3])
    list(client.iter_tasks(TaskFilter(), limit=5).tasks)
    client.token
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("substrateinterface", "requests", "eth_utils", "pydantic"))
print(",".join(heavy))
"""


def test_reads_import_no_substrate_interface(shared_devnode: Any, tmp_path: Path) -> None:
    for _ in range(2):  # the second run reads the runtime types from the cache
        done = subprocess.run(
            [sys.executable, "-c", READS, shared_devnode.url, str(tmp_path), keypair("Alice").ss58_address],
            capture_output=True, text=True, check=True,
        )
    assert done.stdout.strip() == ""


def test_a_refused_request_is_a_chain_error(shared_devnode: Any) -> None:
    with ChainClient.connect(shared_devnode.url) as client:
        assert isinstance(client._substrate, LazySubstrate)
        with pytest.raises(RpcRefused):
            client._substrate.rpc_request("state_getKeysPaged", ["0x", 5000, "0x", None])
        with pytest.raises(ChainError, match="refused"):
            client._rpc("a page of keys", "state_getKeysPaged", ["0x", 5000, "0x", None])
        with pytest.raises(NotFoundError):
            client.get_task(10**12)


def test_signing_builds_substrate_interface_and_reads_keep_working(shared_devnode: Any) -> None:
    with ChainClient.connect(shared_devnode.url) as client:
        lazy = client._substrate
        assert lazy._real is None
        before = client.balance(keypair("Ferdie").ss58_address).free
        receipt = client.submit(keypair("Eve"), "transfer_keep_alive", {"dest": keypair("Ferdie").ss58_address, "value": 10**12}, module="Balances")
        assert receipt.block_hash and lazy._real is not None  # substrate-interface was built for signing
        assert client.balance(keypair("Ferdie").ss58_address).free == before + 10**12  # reads now go through it
