"""Restart and SIGKILL durability: no block a client was told about is ever lost."""

from __future__ import annotations

import json

import pytest
import websocket

from tests.devnode.sichain import UNIT, connect, free, keypair, submit
from tests.fixtures.devnode import start_devnode

pytestmark = pytest.mark.integration


def test_restart_resumes_the_chain_and_state(tmp_path):
    node = start_devnode(tmp_path / "chain")
    try:
        substrate = connect(node.url)
        alice, bob = keypair("Alice"), keypair("Bob")
        receipt = submit(substrate, alice, "Balances", "transfer_keep_alive", {"dest": bob.ss58_address, "value": 5 * UNIT})
        assert receipt.is_success
        substrate.rpc_request("dev_newBlocks", [3])
        head = substrate.get_chain_head()
        bob_balance = free(substrate, bob)
        genesis = substrate.get_block_hash(0)
        substrate.close()
        assert node.stop() == 0
        node.start()
        substrate = connect(node.url)
        assert substrate.get_chain_head() == head
        assert substrate.get_block_hash(0) == genesis
        assert free(substrate, bob) == bob_balance
        assert substrate.get_block(receipt.block_hash)["header"]["hash"] == receipt.block_hash
        again = submit(substrate, alice, "Balances", "transfer_keep_alive", {"dest": bob.ss58_address, "value": UNIT})
        assert again.is_success
        assert free(substrate, bob) == bob_balance + UNIT
        substrate.close()
    finally:
        node.stop()


def _watch_many(url: str, xts: list[str], kill_after: int, node) -> list[str]:
    """Submit-and-watch every extrinsic, SIGKILL the node once ``kill_after`` inBlock notices arrived."""
    ws = websocket.create_connection(url, timeout=30)
    for index, xt in enumerate(xts):
        ws.send(json.dumps({"jsonrpc": "2.0", "id": index, "method": "author_submitAndWatchExtrinsic", "params": [xt]}))
    told: list[str] = []
    try:
        while len(told) < kill_after:
            message = json.loads(ws.recv())
            result = message.get("params", {}).get("result")
            if isinstance(result, dict) and ("inBlock" in result or "finalized" in result):
                told.append(result.get("inBlock") or result["finalized"])
                if len(told) >= kill_after:
                    node.kill()
    finally:
        ws.close()
    return told


def test_sigkill_after_notifications_loses_no_announced_block(tmp_path):
    node = start_devnode(tmp_path / "chain")
    try:
        alice, charlie = keypair("Alice"), keypair("Charlie")
        for kill_after in (1, 2, 25):
            substrate = connect(node.url)
            nonce = substrate.get_account_nonce(alice.ss58_address)
            xts = []
            for offset in range(30):
                call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": charlie.ss58_address, "value": UNIT})
                xts.append(str(substrate.create_signed_extrinsic(call=call, keypair=alice, nonce=nonce + offset).data))
            substrate.close()
            told = _watch_many(node.url, xts, kill_after, node)
            assert node.process is not None and node.process.returncode == -9
            node.start()
            check = connect(node.url)
            for block_hash in told:
                assert check.get_block(block_hash) is not None, f"announced block {block_hash} lost after kill -9"
            check.close()
    finally:
        node.stop()
