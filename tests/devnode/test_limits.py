"""The JSON-RPC server's limits, with Substrate's flags and jsonrpsee's error objects, over the fake runtime."""

from __future__ import annotations

import json
import select
import socket
import time
import urllib.error
import urllib.request

import pytest
import websocket

from decentralml.devnode.limits import RpcLimits, parse_cors
from tests.devnode.test_rpc import Client, running_node

pytestmark = pytest.mark.integration


def post(url: str, body: bytes, origin: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json"}
    if origin is not None:
        headers["Origin"] = origin
    request = urllib.request.Request(url.replace("ws://", "http://"), data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def request(method: str, params: list | None = None, request_id: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []}


def test_oversized_requests_get_32007_and_the_connection_and_its_subscriptions_stay():
    with running_node(RpcLimits(max_request_bytes=1024, unsafe_methods=True)) as (node, url):
        client = Client(url)
        heads = client.call("chain_subscribeNewHeads")["result"]
        assert client.notification(heads)["number"] == "0x0"
        client.send_raw(json.dumps(request("system_chain", ["x" * 1500])))
        reply = client.recv()
        assert reply == {"jsonrpc": "2.0", "error": {"code": -32007, "message": "Request is too big", "data": "Exceeded max limit of 1024"}, "id": None}
        assert client.call("system_chain")["result"] == "Development"
        client.call("dev_newBlocks", [1])
        assert client.notification(heads)["number"] == "0x1"  # the subscription survived
        # Over HTTP: 413 with the same JSON error.
        status, _, body = post(url, json.dumps(request("system_chain", ["x" * 1500])).encode())
        assert status == 413 and json.loads(body)["error"]["code"] == -32007
        # Far over the limit (more than twice) the message is not read at all: the connection closes.
        client.send_raw("x" * 4096)
        try:
            data = client.ws.recv()  # the close frame reads as ""
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            data = ""
        assert data == ""


def test_response_size_and_batch_length_limits():
    with running_node(RpcLimits(max_response_bytes=300, max_batch_len=3)) as (node, url):
        client = Client(url)
        assert client.call("system_chain")["result"] == "Development"
        big = client.call("rpc_methods")
        assert big["error"] == {"code": -32008, "message": "Response is too big", "data": "Exceeded max limit of 300"}
        assert big["id"] == client.next_id
        client.send_raw(json.dumps([request("system_chain", request_id=i) for i in range(4)]))
        assert client.recv()["error"]["code"] == -32010
        client.send_raw(json.dumps([request("system_chain", request_id=i) for i in range(3)]))
        assert [r["result"] for r in client.recv()] == ["Development"] * 3
        client.send_raw(json.dumps([request("rpc_methods", request_id=i) for i in range(3)]))
        assert client.recv()["error"]["code"] == -32008


def test_subscriptions_per_connection_are_limited():
    with running_node(RpcLimits(max_subscriptions_per_connection=3)) as (node, url):
        client = Client(url)
        subs = [client.call("chain_subscribeNewHeads")["result"] for _ in range(3)]
        refused = client.call("chain_subscribeNewHeads")
        assert refused["error"] == {"code": -32006, "message": "Too many subscriptions on the connection", "data": "Exceeded max limit of 3"}
        assert client.call("chainHead_v1_follow", [False])["error"]["code"] == -32006
        assert client.call("chain_unsubscribeNewHeads", [subs[0]])["result"] is True
        assert isinstance(client.call("chain_subscribeNewHeads")["result"], str)
        assert isinstance(Client(url).call("chain_subscribeNewHeads")["result"], str)  # per connection


def test_connections_are_limited_and_stalled_ones_closed():
    with running_node(RpcLimits(max_connections=3, header_read_timeout=0.5)) as (node, url):
        port = int(url.rsplit(":", 1)[1])
        stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        for sock in stalled:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes its head
        time.sleep(0.1)
        with pytest.raises(websocket.WebSocketBadStatusException, match="429 Too Many Requests") as refused:
            websocket.create_connection(url, timeout=5)
        assert refused.value.status_code == 429
        time.sleep(0.8)
        for sock in stalled:
            sock.settimeout(5)
            assert sock.recv(100) == b""  # closed by the node
            sock.close()
        assert Client(url).call("system_chain")["result"] == "Development"
        # A client that did send a request keeps its connection past the timeout.
        kept = Client(url)
        assert kept.call("system_chain")["result"] == "Development"
        time.sleep(0.8)
        assert kept.call("system_chain")["result"] == "Development"


def test_cors_default_allows_localhost_and_polkadot_js_only():
    body = json.dumps(request("system_chain")).encode()
    with running_node(RpcLimits()) as (node, url):
        assert post(url, body)[0] == 200  # not a browser
        status, headers, _ = post(url, body, origin="http://localhost:3000")
        assert status == 200 and headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        assert post(url, body, origin="https://polkadot.js.org")[0] == 200
        assert post(url, body, origin="https://evil.example")[0] == 403
        assert post(url, body, origin="http://localhost.evil.example")[0] == 403
        with pytest.raises(websocket.WebSocketBadStatusException, match="403 Forbidden") as refused:
            websocket.create_connection(url, timeout=5, origin="https://evil.example")
        assert refused.value.status_code == 403
        # Without --rpc-methods unsafe, dev_* is refused like a node's unsafe methods.
        status, _, reply = post(url, json.dumps(request("dev_newBlocks", [1])).encode())
        assert json.loads(reply)["error"] == {"code": -32601, "message": "RPC call is unsafe to be called externally"}
    with running_node(RpcLimits(cors=parse_cors("all"))) as (node, url):
        assert post(url, body, origin="https://evil.example")[0] == 200
    assert parse_cors("https://a.example, http://b.example:*") == ("https://a.example", "http://b.example:*")
    assert RpcLimits(cors=("http://b.example:*",)).origin_allowed("http://b.example:8080")
    assert not RpcLimits(cors=("http://b.example:*",)).origin_allowed("http://b.example:80x")


def test_a_large_batch_does_not_hold_up_another_client(devnode):
    # The node in its own process (the in-process node would share the GIL with this client).
    heavy, light = Client(devnode.url), Client(devnode.url)
    key = "0x" + "ab" * 32
    batch = json.dumps([request("state_getStorage", [key], request_id=i) for i in range(100_000)])
    heavy.send_raw(batch)
    time.sleep(0.05)  # the node is now working through the batch
    for _ in range(5):
        assert light.call("system_chain")["result"] == "Development"
    # The light client was served between slices of the batch, whose reply is not even written yet.
    readable, _, _ = select.select([heavy.ws.sock], [], [], 0)
    assert readable == []
    replies = heavy.recv()
    assert len(replies) == 100_000 and replies[-1] == {"jsonrpc": "2.0", "result": None, "id": 99_999}


def test_cycle_collection_pauses_only_while_large_messages_are_handled():
    import asyncio
    import gc

    from decentralml.devnode.node import DevNode
    from decentralml.devnode.rpc import RpcMethods, Session, handle_message
    from tests.devnode.fake_runtime import FakeRuntime

    node = DevNode(FakeRuntime())
    node.start()
    methods = RpcMethods(node)
    big = json.dumps([request("system_chain", request_id=i) for i in range(5000)])
    seen: list[bool] = []

    async def main() -> None:
        async def watch() -> None:
            for _ in range(50):
                seen.append(gc.isenabled())
                await asyncio.sleep(0)

        replies = await asyncio.gather(
            handle_message(methods, big, Session(send=lambda t: None)),
            handle_message(methods, big, Session(send=lambda t: None)),
            watch(),
        )
        assert len(json.loads(replies[0])) == 5000 and len(json.loads(replies[1])) == 5000

    assert gc.isenabled()
    asyncio.run(main())
    assert False in seen  # paused while the two batches overlapped
    assert gc.isenabled()  # and back once both are done
