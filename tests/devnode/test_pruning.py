"""State and blocks pruning: what is kept, what a pruned read answers, what a restart reads."""

from __future__ import annotations

import json

import pytest
import websocket

from decentralml.devnode.cli import parse_pruning
from decentralml.devnode.history import StateDiscarded, StateHistory
from decentralml.errors import UsageError
from tests.devnode.sichain import UNIT, connect, free, keypair, submit
from tests.fixtures.devnode import start_devnode


def test_history_keeps_the_window_and_forgets_removed_keys() -> None:
    history = StateHistory(keep=3)
    history.apply(0, {b"a": b"0", b"t0": b"x"})
    for number in range(1, 10):
        # a per-block key (as System.BlockHash) set at each block and removed two blocks later
        changes = {b"a": str(number).encode(), b"t%d" % number: b"x", b"t%d" % (number - 1): None}
        history.apply(number, changes)
        history.prune(number)
    assert history.floor == 7
    assert history.get(b"a", 7) == b"7" and history.get(b"a", 9) == b"9"
    with pytest.raises(StateDiscarded, match="block 6 was discarded"):
        history.get(b"a", 6)
    with pytest.raises(StateDiscarded, match="block 3 was discarded"):
        history.view(3)
    # removed per-block keys leave the key set once their removal is older than the window
    assert len(history) == 4  # a, t9 (live), t8 and t7 (removed within the window)
    assert list(history.keys_with_prefix(b"t", 9)) == [b"t9"]
    assert list(history.keys_with_prefix(b"t", 7)) == [b"t7"]


def test_a_held_block_stops_pruning_until_released() -> None:
    history = StateHistory(keep=2)
    history.apply(0, {b"a": b"0"})
    for number in range(1, 4):
        history.apply(number, {b"a": str(number).encode()})
        history.prune(number, hold=1)  # block 1 pinned from the start
    for number in range(4, 10):
        history.apply(number, {b"a": str(number).encode()})
        history.prune(number, hold=1)
    assert history.floor == 1  # the window alone would be at 8
    assert [history.get(b"a", n) for n in range(1, 10)] == [str(n).encode() for n in range(1, 10)]
    with pytest.raises(StateDiscarded):
        history.get(b"a", 0)
    history.prune(9)  # released: the next prune goes to the window
    assert history.floor == 8
    with pytest.raises(StateDiscarded):
        history.get(b"a", 1)


def test_archive_history_keeps_everything() -> None:
    history = StateHistory()
    for number in range(5):
        history.apply(number, {b"k": bytes([number])})
        history.prune(number)
    assert [history.get(b"k", n) for n in range(5)] == [bytes([n]) for n in range(5)]


@pytest.mark.parametrize("text, expected", [("archive", None), ("archive-canonical", None), ("256", 256), ("1", 1)])
def test_parse_pruning(text: str, expected: int | None) -> None:
    assert parse_pruning(text, "--state-pruning") == expected


@pytest.mark.parametrize("text", ["0", "-1", "all", "", "1.5"])
def test_parse_pruning_refuses(text: str) -> None:
    with pytest.raises(UsageError, match="is neither a number of blocks"):
        parse_pruning(text, "--state-pruning")


def _rpc(url: str, method: str, params: list) -> dict:
    ws = websocket.create_connection(url, timeout=60)
    try:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        return json.loads(ws.recv())
    finally:
        ws.close()


@pytest.mark.integration
def test_pruned_state_answers_the_node_error_and_survives_restart(tmp_path) -> None:
    node = start_devnode(tmp_path / "chain", "--state-pruning", "8", "--blocks-pruning", "4", "--finality-delay", "0")
    try:
        substrate = connect(node.url)
        alice, bob = keypair("Alice"), keypair("Bob")
        receipt = submit(substrate, alice, "Balances", "transfer_keep_alive", {"dest": bob.ss58_address, "value": 5 * UNIT})
        old_hash = receipt.block_hash
        key = substrate.create_storage_key("System", "Account", [bob.ss58_address]).to_hex()
        assert _rpc(node.url, "state_getStorage", [key, old_hash])["result"]
        substrate.rpc_request("dev_newBlocks", [20])
        bob_balance = free(substrate, bob)
        head = substrate.get_chain_head()
        substrate.close()
        answer = _rpc(node.url, "state_getStorage", [key, old_hash])
        assert answer["error"] == {"code": 4003, "message": f"Client error: UnknownBlock: State already discarded for {old_hash}"}
        # headers stay, bodies older than the last 4 blocks go
        assert _rpc(node.url, "chain_getHeader", [old_hash])["result"]["parentHash"]
        assert _rpc(node.url, "chain_getBlock", [old_hash])["result"] is None
        assert _rpc(node.url, "chain_getBlock", [head])["result"]["block"]["header"]
        assert node.stop() == 0
        node.start()
        substrate = connect(node.url)
        assert substrate.get_chain_head() == head
        assert free(substrate, bob) == bob_balance
        assert _rpc(node.url, "state_getStorage", [key, old_hash])["error"]["code"] == 4003
        again = submit(substrate, alice, "Balances", "transfer_keep_alive", {"dest": bob.ss58_address, "value": UNIT})
        assert again.is_success and free(substrate, bob) == bob_balance + UNIT
        substrate.close()
    finally:
        node.stop()


@pytest.mark.integration
def test_archive_keeps_every_state(tmp_path) -> None:
    node = start_devnode(tmp_path / "chain", "--state-pruning", "archive")
    try:
        substrate = connect(node.url)
        first = substrate.get_block_hash(1) if substrate.get_block_number(None) >= 1 else None
        substrate.rpc_request("dev_newBlocks", [300])
        genesis = substrate.get_block_hash(0)
        key = substrate.create_storage_key("System", "Number").to_hex()
        assert _rpc(node.url, "state_getStorage", [key, genesis]).get("result") is not None or first is None
        assert "error" not in _rpc(node.url, "state_getStorage", [key, genesis])
        substrate.close()
    finally:
        node.stop()
