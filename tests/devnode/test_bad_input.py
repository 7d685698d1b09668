"""Bad input gets the real node's answer, and the node keeps serving everyone."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
import websocket
from substrateinterface import Keypair, SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException

from tests.devnode.sichain import PALLET, UNIT, best_number, connect, create_task_params, free, keypair, submit

pytestmark = pytest.mark.integration


def raw_call(ws: websocket.WebSocket, method: str, params: object, request_id: int = 1) -> dict:
    ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
    while True:
        reply = json.loads(ws.recv())
        if reply.get("id") == request_id:
            return reply


def signed_hex(substrate: SubstrateInterface, signer: Keypair, call_module: str, call_function: str, params: dict, **kwargs) -> str:
    call = substrate.compose_call(call_module, call_function, params)
    return str(substrate.create_signed_extrinsic(call=call, keypair=signer, **kwargs).data)


def submit_error(ws: websocket.WebSocket, xt_hex: str) -> dict:
    reply = raw_call(ws, "author_submitExtrinsic", [xt_hex])
    assert "error" in reply, reply
    return reply["error"]


def test_protocol_errors_keep_the_connection_and_other_clients(devnode):
    ws = websocket.create_connection(devnode.url, timeout=10)
    other = connect(devnode.url)
    ws.send("{this is not json")
    assert json.loads(ws.recv())["error"] == {"code": -32700, "message": "Parse error"}
    ws.send(json.dumps({"jsonrpc": "2.0", "id": 5, "method": 17}))
    assert json.loads(ws.recv())["error"]["code"] == -32600
    assert raw_call(ws, "chain_getBlockHash", None)["result"].startswith("0x")
    assert raw_call(ws, "state_call", ["Core_version", "0x", None])["result"].startswith("0x")
    with pytest.raises(SubstrateRequestException, match="Method not found") as unknown:
        other.rpc_request("decentralml_noSuchMethod", [])
    assert unknown.value.args[0]["code"] == -32601
    assert raw_call(ws, "state_getStorage", ["0xzz"])["error"]["code"] == -32602
    assert other.get_block_number(None) >= 0
    ws.close()
    other.close()


def test_invalid_transactions_are_refused_on_submit(devnode):
    substrate = connect(devnode.url)
    ws = websocket.create_connection(devnode.url, timeout=10)
    alice, bob = keypair("Alice"), keypair("Bob")
    transfer = {"dest": bob.ss58_address, "value": UNIT}

    # malformed SCALE inside a well-framed body: the runtime cannot decode it.
    assert submit_error(ws, "0x10deadbeef")["code"] == 1002
    # a body shorter than its length prefix is not even opaque bytes.
    assert submit_error(ws, "0x4001")["code"] == -32000

    # bad signature: one flipped bit in the signature.
    good = bytearray(bytes.fromhex(signed_hex(substrate, alice, "Balances", "transfer_keep_alive", transfer)[2:]))
    good[1 + 1 + 1 + 32 + 1 + 10] ^= 0x01  # len prefix, version, address kind, account, sig kind, into the signature
    error = submit_error(ws, "0x" + good.hex())
    assert (error["code"], error["message"], error["data"]) == (1010, "Invalid Transaction", "Transaction has a bad signature")

    # stale nonce after a successful transfer; a duplicate of the included one is banned.
    first = signed_hex(substrate, alice, "Balances", "transfer_keep_alive", transfer)
    assert raw_call(ws, "author_submitExtrinsic", [first])["result"].startswith("0x")
    devnode_wait_nonce(substrate, alice, 1)
    assert submit_error(ws, first)["code"] == 1012
    stale = signed_hex(substrate, alice, "Balances", "transfer_keep_alive", {"dest": bob.ss58_address, "value": 2 * UNIT}, nonce=0)
    assert submit_error(ws, stale)["data"] == "Transaction is outdated"

    # a future nonce waits in the pool until the gap is filled, then both are included.
    future = signed_hex(substrate, alice, "Balances", "transfer_keep_alive", transfer, nonce=2)
    future_hash = raw_call(ws, "author_submitExtrinsic", [future])["result"]
    assert future in raw_call(ws, "author_pendingExtrinsics", [])["result"]
    assert future_hash.startswith("0x")
    assert raw_call(ws, "system_accountNextIndex", [alice.ss58_address])["result"] == 1  # the gap is still open
    gap = submit(substrate, alice, "Balances", "transfer_keep_alive", transfer)
    assert gap.is_success
    devnode_wait_nonce(substrate, alice, 3)
    assert raw_call(ws, "author_pendingExtrinsics", [])["result"] == []

    # wrong genesis hash in the signed payload: seen as a bad signature, as on a real node.
    class WrongGenesis(SubstrateInterface):
        def get_block_hash(self, block_id=None):
            return "0x" + "42" * 32 if block_id == 0 else super().get_block_hash(block_id)

    wrong = WrongGenesis(url=devnode.url)
    error = submit_error(ws, signed_hex(wrong, alice, "Balances", "transfer_keep_alive", transfer))
    assert error["data"] == "Transaction has a bad signature"
    wrong.close()

    # an account without funds cannot pay the fee.
    pauper = Keypair.create_from_uri("//NoFundsHere", ss58_format=42)
    error = submit_error(ws, signed_hex(substrate, pauper, "Balances", "transfer_keep_alive", transfer))
    assert error["data"].startswith("Inability to pay some fees")

    # an argument over its bound (question > MaxQuestionLen) does not decode.
    now = best_number(substrate)
    too_long = create_task_params(pays=UNIT, slots=1, expiration_block=now + 10, question="q" * 1025)
    assert submit_error(ws, signed_hex(substrate, alice, PALLET, "create_task", too_long))["code"] == 1002

    # the node still serves: a valid transfer goes through.
    before = free(substrate, bob)
    assert submit(substrate, alice, "Balances", "transfer_keep_alive", transfer).is_success
    assert free(substrate, bob) == before + UNIT
    ws.close()
    substrate.close()


def test_insufficient_balance_for_escrow_is_a_pallet_error(devnode):
    substrate = connect(devnode.url)
    alice, dave = keypair("Alice"), keypair("Dave")
    now = best_number(substrate)
    huge = create_task_params(pays=1 << 59, slots=100, expiration_block=now + 50)
    receipt = submit(substrate, dave, PALLET, "create_task", huge)
    assert not receipt.is_success
    assert receipt.error_message["name"] == "InsufficientBalance"
    assert receipt.total_fee_amount > 0
    assert free(substrate, alice) > 0
    substrate.close()


def devnode_wait_nonce(substrate: SubstrateInterface, who: Keypair, nonce: int) -> None:
    for _ in range(200):
        if substrate.get_account_nonce(who.ss58_address) >= nonce:
            return
        time.sleep(0.02)
    raise AssertionError(f"nonce of {who.ss58_address} never reached {nonce}")


def _nested(depth: int, where: str = "params") -> str:
    return '{"jsonrpc":"2.0","id":1,"method":"system_name","' + where + '":' + "[" * depth + "]" * depth + "}"


DEEP = [
    pytest.param(_nested(100_000), id="params"),
    pytest.param(_nested(100_000, "id"), id="id"),
    pytest.param("[" * 100_000 + "]" * 100_000, id="bare"),
    pytest.param("[" + _nested(10) + "," + _nested(100_000) + "]", id="in-a-batch"),
]


@pytest.mark.parametrize("message", DEEP)
def test_deeply_nested_json_is_a_parse_error_over_websocket(devnode, message):
    ws = websocket.create_connection(devnode.url, timeout=10)
    ws.send(message)
    assert json.loads(ws.recv()) == {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}
    assert raw_call(ws, "system_name", [], request_id=2)["result"]
    ws.close()


@pytest.mark.parametrize("message", DEEP)
def test_deeply_nested_json_is_a_parse_error_over_http(devnode, message):
    request = urllib.request.Request(devnode.url.replace("ws://", "http://"), data=message.encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200
        assert json.loads(response.read())["error"] == {"code": -32700, "message": "Parse error"}
