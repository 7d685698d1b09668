"""The JSON-RPC surface (WebSocket and HTTP on one port) over the fake runtime, in process."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import websocket

from decentralml.devnode.limits import RpcLimits
from decentralml.devnode.node import DevNode
from decentralml.devnode.server import serve
from tests.devnode.fake_runtime import FakeRuntime, make_xt

pytestmark = pytest.mark.integration


@contextmanager
def running_node(limits: RpcLimits | None = None) -> Iterator[tuple[DevNode, str]]:
    loop = asyncio.new_event_loop()
    node = DevNode(FakeRuntime())
    node.start()
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def main() -> None:
        runner, endpoint = await serve(node, "127.0.0.1", 0, limits)
        holder["url"] = endpoint.ws_url
        producer = asyncio.create_task(node.run())
        ready.set()
        await producer
        await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield node, str(holder["url"])
    finally:
        loop.call_soon_threadsafe(node.stop)
        thread.join(10)


class Client:
    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=10)
        self.next_id = 0
        self.queue: list[dict] = []

    def send_raw(self, text: str) -> None:
        self.ws.send(text)

    def recv(self) -> dict:
        if self.queue:
            return self.queue.pop(0)
        return json.loads(self.ws.recv())

    def call(self, method: str, params: object = None) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                return message
            self.queue.append(message)

    def notification(self, subscription: str) -> object:
        for index, message in enumerate(self.queue):
            if message.get("params", {}).get("subscription") == subscription:
                return self.queue.pop(index)["params"]["result"]
        while True:
            message = json.loads(self.ws.recv())
            if message.get("params", {}).get("subscription") == subscription:
                return message["params"]["result"]
            self.queue.append(message)


def http(url: str, body: bytes) -> dict:
    request = urllib.request.Request(url.replace("ws://", "http://"), data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_bad_input_gets_json_rpc_errors_and_other_clients_keep_going():
    with running_node() as (node, url):
        bad, good = Client(url), Client(url)
        bad.send_raw("{not json")
        assert bad.recv()["error"]["code"] == -32700
        bad.send_raw(b"\xff\xfe".decode("latin-1"))
        assert bad.recv()["error"]["code"] == -32700
        assert bad.call("no_such_method")["error"]["code"] == -32601
        assert bad.call("chain_getBlockHash", ["zz"])["error"]["code"] == -32602
        assert bad.call("state_getStorage", [])["error"]["code"] == -32602
        assert bad.call("chain_getBlockHash", None)["result"] == "0x" + node.genesis_hash.hex()
        assert good.call("system_chain")["result"] == "Development"
        assert bad.call("system_health")["result"]["peers"] == 0
        methods = good.call("rpc_methods")["result"]["methods"]
        for name in ("chain_getHead", "chain_getFinalisedHead", "state_getStorageAt", "state_getKeysPaged", "dev_newBlocks"):
            assert name in methods


def test_submit_and_watch_sends_ready_in_block_finalized_in_order():
    with running_node() as (node, url):
        client = Client(url)
        reply = client.call("author_submitAndWatchExtrinsic", ["0x" + make_xt(1, 0, b"hi").hex()])
        sub = reply["result"]
        assert isinstance(sub, str)
        statuses = [client.notification(sub) for _ in range(3)]
        assert statuses[0] == "ready"
        block_hash = statuses[1]["inBlock"]
        assert statuses[2] == {"finalized": block_hash}
        block = client.call("chain_getBlock", [block_hash])["result"]["block"]
        assert block["extrinsics"][1] == "0x" + make_xt(1, 0, b"hi").hex()
        assert block["header"]["number"] == "0x1"
        assert client.call("author_unwatchExtrinsic", [sub])["result"] is False
        again = client.call("author_submitAndWatchExtrinsic", ["0x" + make_xt(1, 0, b"hi").hex()])
        assert again["error"]["code"] == 1012
        stale = client.call("author_submitExtrinsic", ["0x" + make_xt(1, 0, b"other").hex()])
        assert stale["error"] == {"code": 1010, "message": "Invalid Transaction", "data": "Transaction is outdated"}


def test_heads_storage_and_version_subscriptions():
    with running_node() as (node, url):
        client = Client(url)
        heads = client.call("chain_subscribeNewHeads", [])["result"]
        finalized = client.call("chain_subscribeFinalisedHeads", [])["result"]
        storage = client.call("state_subscribeStorage", [["0x" + b"nonce:\x01".hex()]])["result"]
        version = client.call("state_subscribeRuntimeVersion", [])["result"]
        assert client.notification(heads)["number"] == "0x0"
        assert client.notification(finalized)["number"] == "0x0"
        assert client.notification(storage)["changes"] == [["0x" + b"nonce:\x01".hex(), None]]
        assert client.notification(version)["specName"] == "fake"
        client.call("author_submitExtrinsic", ["0x" + make_xt(1, 0).hex()])
        assert client.notification(heads)["number"] == "0x1"
        assert client.notification(finalized)["number"] == "0x1"
        assert client.notification(storage)["changes"] == [["0x" + b"nonce:\x01".hex(), "0x01000000"]]
        for method, sub in (("chain_unsubscribeNewHeads", heads), ("state_unsubscribeStorage", storage)):
            assert client.call(method, [sub])["result"] is True
        assert client.call("chain_unsubscribeNewHeads", ["unknown"])["result"] is False


def test_state_reads_at_past_blocks_and_dev_new_blocks():
    with running_node() as (node, url):
        client = Client(url)
        client.call("author_submitExtrinsic", ["0x" + make_xt(1, 0, b"v1").hex()])
        made = client.call("dev_newBlocks", [3])["result"]
        assert made["count"] == 3 and made["last"] == node.best_number
        key = "0x" + b"payload:\x01".hex()
        hash0 = client.call("chain_getBlockHash", [0])["result"]
        assert client.call("state_getStorage", [key, hash0])["result"] is None
        assert client.call("state_getStorageAt", [key])["result"] == "0x" + b"v1".hex()
        assert client.call("state_getStorage", [key, 0])["result"] is None  # tolerated: a number as `at`
        keys = client.call("state_getKeysPaged", ["0x", 10, None])["result"]
        assert keys == sorted(keys) and key in keys
        after = client.call("state_getKeysPaged", ["0x", 10, keys[0]])["result"]
        assert after == keys[1:]
        at = client.call("state_queryStorageAt", [[key], made["hash"]])["result"]
        assert at == [{"block": made["hash"], "changes": [[key, "0x" + b"v1".hex()]]}]
        assert client.call("state_call", ["Echo", "0x0102", None])["result"] == "0x0102"
        assert client.call("state_call", ["Nope", "0x"])["error"]["code"] == 4003
        unknown = "0x" + "11" * 32
        assert client.call("state_getStorage", [key, unknown])["error"]["code"] == 4003
        assert client.call("chain_getHeader", [unknown])["result"] is None
        assert client.call("dev_newBlocks", [0])["error"]["code"] == -32602


def test_http_post_and_batches():
    with running_node() as (node, url):
        assert http(url, b'{"jsonrpc":"2.0","id":7,"method":"system_name"}')["result"]
        batch = http(url, json.dumps([
            {"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": None},
            {"jsonrpc": "2.0", "id": 2, "method": "nope"},
        ]).encode())
        assert batch[0]["result"]["number"] == "0x0" and batch[1]["error"]["code"] == -32601
        assert http(url, b"[1")["error"]["code"] == -32700
        refused = http(url, b'{"jsonrpc":"2.0","id":1,"method":"chain_subscribeNewHeads","params":[]}')
        assert "error" in refused


def test_many_clients_at_once_all_see_every_head():
    with running_node() as (node, url):
        clients = [Client(url) for _ in range(25)]
        subs = [c.call("chain_subscribeNewHeads", [])["result"] for c in clients]
        for client, sub in zip(clients, subs):
            assert client.notification(sub)["number"] == "0x0"
        clients[0].send_raw("][")  # one client misbehaves
        for sender in range(5):
            clients[sender].call("author_submitExtrinsic", ["0x" + make_xt(sender + 1, 0).hex()])
        for client, sub in zip(clients, subs):
            numbers = sorted(int(client.notification(sub)["number"], 16) for _ in range(5))
            assert numbers == [1, 2, 3, 4, 5]
        for client in clients:
            client.ws.close()


def test_query_storage_over_a_range_reports_each_change():
    with running_node() as (node, url):
        client = Client(url)
        key = "0x" + b"payload:\x01".hex()
        for nonce, payload in enumerate((b"a", b"b")):
            client.call("author_submitExtrinsic", ["0x" + make_xt(1, nonce, payload).hex()])
        client.call("dev_newBlocks", [1])
        first = client.call("chain_getBlockHash", [0])["result"]
        last = client.call("chain_getBlockHash", [3])["result"]
        changes = client.call("state_queryStorage", [[key], first, last])["result"]
        values = [(c["block"], c["changes"][0][1]) for c in changes]
        hashes = [client.call("chain_getBlockHash", [n])["result"] for n in range(3)]
        assert values == [(hashes[0], None), (hashes[1], "0x61"), (hashes[2], "0x62")]
        assert client.call("state_queryStorage", [[key], last, first])["error"]["code"] == 4001
