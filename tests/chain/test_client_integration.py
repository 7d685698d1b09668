"""The chain client against real dev nodes: reconnects and interval sealing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from decentralml.chain import ChainClient, keypair_from_suri
from decentralml.errors import NodeUnreachableError
from tests.fixtures.devnode import start_devnode

pytestmark = pytest.mark.integration

ALICE, DAVE = keypair_from_suri("//Alice"), keypair_from_suri("//Dave")
UNIT = 10**12


def _transfer(chain: ChainClient, value: int) -> Any:
    return chain.submit(ALICE, "transfer_keep_alive", {"dest": DAVE.ss58_address, "value": value}, module="Balances")


def test_node_restart_reads_reconnect_and_nothing_is_sent_twice(devnode: Any) -> None:
    with ChainClient.connect(devnode.url, timeout=30) as chain:
        before = chain.balance(DAVE.ss58_address).free
        _transfer(chain, UNIT)
        devnode.restart()
        assert chain.balance(DAVE.ss58_address).free == before + UNIT  # the read reconnected
        included = 1
        try:
            _transfer(chain, UNIT)
            included += 1
        except NodeUnreachableError as exc:  # the socket died under the submission: reported, not re-signed
            assert "check the chain before retrying" in exc.message
    with ChainClient.connect(devnode.url, timeout=30) as fresh:
        assert fresh.balance(DAVE.ss58_address).free in (before + included * UNIT, before + 2 * UNIT)
        _transfer(fresh, UNIT)
        after = fresh.balance(DAVE.ss58_address).free
    assert after - before <= 3 * UNIT


def test_interval_sealing_waits_for_inclusion_with_consecutive_nonces(tmp_path: Path) -> None:
    node = start_devnode(tmp_path / "interval", "--block-time", "0.3")
    try:
        with ChainClient.connect(node.url, timeout=30) as chain:
            before = chain.balance(DAVE.ss58_address).free
            nonce = chain.account_next_index(ALICE.ss58_address)
            receipts = [_transfer(chain, UNIT) for _ in range(3)]
            assert all(r.block_number is not None for r in receipts)
            assert chain.balance(DAVE.ss58_address).free == before + 3 * UNIT
            assert chain.account_next_index(ALICE.ss58_address) == nonce + 3
    finally:
        node.stop()
