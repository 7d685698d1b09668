"""The JSON-RPC server's limits, with Substrate's flags and jsonrpsee's error objects, over the fake runtime."""

from __future__ import annotations

import http.client
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


TOO_BIG_1024 = {"jsonrpc": "2.0", "error": {"code": -32007, "message": "Request is too big", "data": "Exceeded max limit of 1024"}, "id": None}


def sized_request(size: int, request_id: int) -> bytes:
    """A ``system_chain`` request padded with JSON whitespace to exactly ``size`` bytes."""
    text = json.dumps(request("system_chain", request_id=request_id)).encode()
    assert len(text) <= size
    return text + b" " * (size - len(text))


def next_reply(client: Client) -> dict:
    """The next reply on the connection; notifications met meanwhile are kept for ``client.notification``."""
    while True:
        message = json.loads(client.ws.recv())
        if "method" not in message:
            return message
        client.queue.append(message)


def send_message(ws: websocket.WebSocket, data: bytes, binary: bool, fragment: int | None) -> None:
    """Send one message through websocket-client's own framing, whole or in ``fragment``-byte frames."""
    opcode = websocket.ABNF.OPCODE_BINARY if binary else websocket.ABNF.OPCODE_TEXT
    if fragment is None:
        ws.send_frame(websocket.ABNF.create_frame(data, opcode))
        return
    parts = [data[i : i + fragment] for i in range(0, len(data), fragment)]
    for index, part in enumerate(parts):
        first = opcode if index == 0 else websocket.ABNF.OPCODE_CONT
        ws.send_frame(websocket.ABNF.create_frame(part, first, fin=int(index == len(parts) - 1)))
        if index == 1:
            ws.ping(b"mid-message")  # a control frame between fragments


@pytest.mark.parametrize("fragment", [None, 100], ids=["whole", "fragmented"])
@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_oversized_messages_of_any_size_get_32007_and_the_connection_and_its_subscriptions_stay(binary, fragment):
    with running_node(RpcLimits(max_request_bytes=1024, unsafe_methods=True)) as (node, url):
        client = Client(url)
        heads = client.call("chain_subscribeNewHeads")["result"]
        assert client.notification(heads)["number"] == "0x0"
        follow = client.call("chainHead_v1_follow", [False])["result"]
        assert client.notification(follow)["event"] == "initialized"
        for number, size in enumerate([1023, 1024, 1025, 2048, 10 * 1024, 1024 * 1024, 1024, 4 * 1024 * 1024], start=1):
            send_message(client.ws, sized_request(size, 100 + number), binary, fragment)
            reply = next_reply(client)
            if size <= 1024:
                assert reply == {"jsonrpc": "2.0", "result": "Development", "id": 100 + number}, size
            else:
                assert reply == TOO_BIG_1024, size
            client.call("dev_newBlocks", [1])
            assert client.notification(heads)["number"] == hex(number)  # the subscriptions survived
            while client.notification(follow)["event"] != "newBlock":  # finalized/bestBlockChanged of the last one
                pass
        assert client.call("system_chain")["result"] == "Development"


def test_oversized_http_bodies_get_413_with_the_json_error():
    with running_node(RpcLimits(max_request_bytes=1024)) as (node, url):
        host, port = url.removeprefix("ws://").split(":")
        for size in (1023, 1024, 1025, 2048, 10 * 1024, 1024 * 1024):
            for chunked in (False, True):
                connection = http.client.HTTPConnection(host, int(port), timeout=10)
                body = sized_request(size, 7)
                if chunked:  # no Content-Length: the node finds out while reading
                    pieces = (body[i : i + 300] for i in range(0, len(body), 300))
                    connection.request("POST", "/", body=pieces, headers={"Content-Type": "application/json"}, encode_chunked=True)
                else:
                    connection.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                reply = json.loads(response.read())
                if size <= 1024:
                    assert (response.status, reply) == (200, {"jsonrpc": "2.0", "result": "Development", "id": 7}), size
                else:
                    assert (response.status, reply) == (413, TOO_BIG_1024), (size, chunked)
                    assert response.getheader("Content-Type").startswith("application/json")
                connection.close()


def test_another_client_is_served_while_an_oversized_message_streams_in():
    with running_node(RpcLimits(max_request_bytes=1024)) as (node, url):
        abuser, other = Client(url), Client(url)
        # The header of a 64 MiB binary frame and its first 8 MiB: the node reads and drops them.
        mask = b"\x01\x02\x03\x04"
        head = bytes((0x82, 0x80 | 127)) + (64 * 1024 * 1024).to_bytes(8, "big") + mask
        abuser.ws.sock.sendall(head + bytes(8 * 1024 * 1024))
        assert abuser.recv() == TOO_BIG_1024  # answered from the frame header
        for _ in range(5):  # served while the rest of the abuser's message is still to come
            assert other.call("system_chain")["result"] == "Development"
        abuser.ws.sock.sendall(bytes(56 * 1024 * 1024))
        assert abuser.call("system_chain")["result"] == "Development"
        assert other.call("system_chain")["result"] == "Development"


def test_websocket_framing_violations_close_the_connection_with_1002():
    with running_node(RpcLimits()) as (node, url):
        client = Client(url)
        client.ws.sock.sendall(bytes((0x81, 0x02)) + b"{}")  # unmasked client frame
        client.ws.settimeout(5)
        frame = client.ws.recv_frame()
        assert frame.opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(frame.data[:2], "big") == 1002
        assert Client(url).call("system_chain")["result"] == "Development"  # others are not affected


def test_ping_gets_pong_and_close_is_answered():
    with running_node(RpcLimits()) as (node, url):
        client = Client(url)
        client.ws.ping(b"hello")
        assert client.ws.recv_data(control_frame=True) == (websocket.ABNF.OPCODE_PONG, b"hello")
        client.ws.send_close(status=1000)
        opcode, data = client.ws.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(data[:2], "big") == 1000


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


def test_idle_websocket_connections_hold_their_places_until_they_close():
    """As documented (docs/devnode.md, --rpc-max-connections): open WebSocket connections that send nothing
    are not timed out, so one client holding the limit locks every other out with HTTP 429 until it closes one."""
    with running_node(RpcLimits(max_connections=3, header_read_timeout=0.3)) as (node, url):
        idle = [websocket.create_connection(url, timeout=5) for _ in range(3)]
        time.sleep(0.6)  # past the header timeout: an upgraded connection is not "stalled"
        with pytest.raises(websocket.WebSocketBadStatusException, match="429 Too Many Requests"):
            websocket.create_connection(url, timeout=5)
        idle.pop().close()
        deadline = time.monotonic() + 5
        while True:  # the node sees the close asynchronously
            try:
                websocket.create_connection(url, timeout=5).close()
                break
            except websocket.WebSocketBadStatusException:
                assert time.monotonic() < deadline, "a closed connection did not free its place"
                time.sleep(0.05)
        for ws in idle:
            ws.close()


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
