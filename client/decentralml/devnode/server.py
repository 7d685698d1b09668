"""JSON-RPC over WebSocket and HTTP POST on one port (aiohttp).

Each WebSocket connection reads its messages in order and writes through its
own queue, so a slow or misbehaving client only ever affects itself: malformed
JSON gets a -32700 reply, a client that stops reading is disconnected when its
queue overflows, and the chain goes on for everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from dataclasses import dataclass

from aiohttp import WSCloseCode, WSMsgType, web

from decentralml.devnode.node import DevNode
from decentralml.devnode.rpc import RpcMethods, Session, handle_message, run_after_reply

log = logging.getLogger(__name__)

# A real node accepts requests up to 15 MiB (`--rpc-max-request-size`).
MAX_MESSAGE_BYTES = 15 * 1024 * 1024
# Messages queued for a client that does not read before it is disconnected.
MAX_QUEUED_MESSAGES = 65_536
# Bytes written but not yet taken by a client before the writer waits for it.
WRITE_BUFFER_LIMIT = 4 * 1024 * 1024


def text_frame(text: str) -> bytes:
    """One unmasked, uncompressed WebSocket text frame (RFC 6455, server to client)."""
    payload = text.encode()
    length = len(payload)
    if length < 126:
        header = bytes((0x81, length))
    elif length < 1 << 16:
        header = bytes((0x81, 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + length.to_bytes(8, "big")
    return header + payload


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def build_app(node: DevNode) -> web.Application:
    """The aiohttp application serving ``node``."""
    methods = RpcMethods(node)
    app = web.Application(client_max_size=MAX_MESSAGE_BYTES)
    sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    async def root(request: web.Request) -> web.StreamResponse:
        if request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket":
            return await _websocket(request, methods, sockets)
        if request.method == "POST":
            return await _http(request, methods)
        return web.Response(status=405, text="Used HTTP Method is not allowed. POST or OPTIONS is required\n")

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"peers": 0, "isSyncing": False, "shouldHavePeers": False})

    async def close_sockets(app: web.Application) -> None:
        for ws in list(sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"node shutting down")

    app.on_shutdown.append(close_sockets)
    app.router.add_route("*", "/", root)
    app.router.add_get("/health", health)
    async def readiness(request: web.Request) -> web.Response:
        return web.Response(status=200)

    app.router.add_get("/health/readiness", readiness)
    return app


async def _http(request: web.Request, methods: RpcMethods) -> web.Response:
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return web.Response(status=413, text="Request is too big\n")
    session = Session(send=lambda text: None, subscriptions_allowed=False)
    reply = await handle_message(methods, body, session)
    session.close()
    return web.Response(text=reply or "", content_type="application/json")


async def _websocket(
    request: web.Request, methods: RpcMethods, sockets: weakref.WeakSet[web.WebSocketResponse]
) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=None, compress=False)
    await ws.prepare(request)
    sockets.add(ws)
    outbox: asyncio.Queue[str | None] = asyncio.Queue()
    overflow = asyncio.Event()  # the client stopped reading: drop it

    def send(text: str) -> None:
        if overflow.is_set():
            return
        if outbox.qsize() >= MAX_QUEUED_MESSAGES:
            log.warning("closing a client that does not read its messages")
            overflow.set()
            outbox.put_nowait(None)
            return
        outbox.put_nowait(text)

    transport = request.transport

    async def writer() -> None:
        while True:
            texts = [await outbox.get()]
            while not outbox.empty():  # everything already queued goes out in one socket write
                texts.append(outbox.get_nowait())
            frames = b"".join(text_frame(t) for t in texts if t is not None)
            if frames:
                if transport is None or transport.is_closing():
                    return
                transport.write(frames)
                while transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
                    if overflow.is_set() or transport.is_closing():
                        transport.abort()
                        return
                    await asyncio.sleep(0.005)  # the client reads slowly: let it catch up
            if None in texts:
                await ws.close()
                return

    session = Session(send=send)
    writer_task = asyncio.create_task(writer())
    try:
        async for message in ws:
            if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                reply = await handle_message(methods, message.data, session)
                if reply is not None:
                    send(reply)
                run_after_reply(session)
            elif message.type == WSMsgType.ERROR:
                break
    finally:
        session.close()
        outbox.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
            await asyncio.wait_for(writer_task, timeout=5)
    return ws


async def serve(node: DevNode, host: str, port: int) -> tuple[web.AppRunner, Endpoint]:
    """Start listening; return the runner (to clean up) and the bound endpoint."""
    runner = web.AppRunner(build_app(node), access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    addresses = runner.addresses  # (host, port, ...) of every bound socket
    bound = addresses[0][1] if addresses else port
    return runner, Endpoint(host, int(bound))


__all__ = ["Endpoint", "build_app", "serve"]
