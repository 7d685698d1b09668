"""JSON-RPC over WebSocket and HTTP POST on one port (aiohttp).

Each WebSocket connection reads its messages in order and writes through its
own queue, so a slow or misbehaving client only ever affects itself: malformed
JSON gets a -32700 reply, a request over the size limit a -32007 reply (the
connection stays), a client that stops reading is disconnected once the bytes
waiting for it pass ``max_outbound_bytes``, and the chain goes on for everyone
else. Connections are counted (``--rpc-max-connections``; past it a new one gets
HTTP 429 and is closed), a connection that has not sent a complete request head
within ``header_read_timeout`` is closed, and a browser ``Origin`` outside
``--rpc-cors`` gets HTTP 403. Limits: :mod:`decentralml.devnode.limits`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from decentralml.devnode.limits import RateLimitedLog, RateLimitFilter, RpcLimits, too_big
from decentralml.devnode.node import DevNode
from decentralml.devnode.rpc import RpcMethods, Session, handle_message, run_after_reply

log = logging.getLogger(__name__)
rate_limited = RateLimitedLog(log)

# Bytes written but not yet taken by a client before the writer waits for it.
WRITE_BUFFER_LIMIT = 4 * 1024 * 1024
# A WebSocket message up to this many times the request limit is read and answered -32007;
# a larger one closes the connection (aiohttp reads a whole message before handing it over).
OVERSIZE_READ_FACTOR = 2


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


def _json_error(status: int, error: dict[str, object], headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps({"jsonrpc": "2.0", "error": error, "id": None}, separators=(",", ":"))
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


def build_app(node: DevNode, limits: RpcLimits | None = None) -> web.Application:
    """The aiohttp application serving ``node`` (default limits: Substrate's, unsafe methods allowed)."""
    limits = limits or RpcLimits(unsafe_methods=True)
    methods = RpcMethods(node, limits)
    # HTTP bodies are read with a bound a little over the limit, so an oversized one gets the JSON error.
    app = web.Application(client_max_size=limits.max_request_bytes * OVERSIZE_READ_FACTOR)
    sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
    app[HEADS_SEEN] = set()

    def cors_headers(request: web.Request) -> dict[str, str]:
        origin = request.headers.get("Origin")
        if origin is None:
            return {}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    async def root(request: web.Request) -> web.StreamResponse:
        app[HEADS_SEEN].add(request.transport)
        origin = request.headers.get("Origin")
        if not limits.origin_allowed(origin):
            rate_limited.warning("origin", "refused a request from origin %r (see --rpc-cors)", origin)
            return web.Response(status=403, text="Origin of the request is not whitelisted. CORS headers would not allow it.\n")
        if request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket":
            return await _websocket(request, methods, sockets, limits)
        if request.method == "POST":
            return await _http(request, methods, limits, cors_headers(request))
        if request.method == "OPTIONS":
            headers = cors_headers(request)
            headers.update({"Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": "content-type"})
            return web.Response(status=200, headers=headers)
        return web.Response(status=405, text="Used HTTP Method is not allowed. POST or OPTIONS is required\n")

    async def health(request: web.Request) -> web.Response:
        app[HEADS_SEEN].add(request.transport)
        return web.json_response({"peers": 0, "isSyncing": False, "shouldHavePeers": False})

    async def readiness(request: web.Request) -> web.Response:
        app[HEADS_SEEN].add(request.transport)
        return web.Response(status=200)

    async def close_sockets(app: web.Application) -> None:
        for ws in list(sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"node shutting down")

    app.on_shutdown.append(close_sockets)
    app.router.add_route("*", "/", root)
    app.router.add_get("/health", health)
    app.router.add_get("/health/readiness", readiness)
    return app


HEADS_SEEN: web.AppKey[set[Any]] = web.AppKey("heads_seen", set)


async def _http(request: web.Request, methods: RpcMethods, limits: RpcLimits, headers: dict[str, str]) -> web.Response:
    if (request.content_length or 0) > limits.max_request_bytes:
        return _json_error(413, too_big(limits.max_request_bytes), headers)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _json_error(413, too_big(limits.max_request_bytes), headers)
    if len(body) > limits.max_request_bytes:
        return _json_error(413, too_big(limits.max_request_bytes), headers)
    session = Session(send=lambda text: None, subscriptions_allowed=False)
    reply = await handle_message(methods, body, session)
    session.close()
    return web.Response(text=reply or "", content_type="application/json", headers=headers)


async def _websocket(
    request: web.Request,
    methods: RpcMethods,
    sockets: weakref.WeakSet[web.WebSocketResponse],
    limits: RpcLimits,
) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(
        max_msg_size=limits.max_request_bytes * OVERSIZE_READ_FACTOR, heartbeat=None, compress=False
    )
    await ws.prepare(request)
    sockets.add(ws)
    outbox: asyncio.Queue[str | None] = asyncio.Queue()
    overflow = asyncio.Event()  # the client stopped reading: drop it
    queued = [0]  # bytes in the outbox

    def send(text: str) -> None:
        if overflow.is_set():
            return
        if queued[0] + len(text) > limits.max_outbound_bytes:
            rate_limited.warning("slow", "closing a client that does not read its messages")
            overflow.set()
            outbox.put_nowait(None)
            return
        queued[0] += len(text)
        outbox.put_nowait(text)

    transport = request.transport

    async def writer() -> None:
        while True:
            texts = [await outbox.get()]
            while not outbox.empty():  # everything already queued goes out in one socket write
                texts.append(outbox.get_nowait())
            frames = b"".join(text_frame(t) for t in texts if t is not None)
            queued[0] -= sum(len(t) for t in texts if t is not None)
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

    session = Session(send=send, max_subscriptions=limits.max_subscriptions_per_connection)
    writer_task = asyncio.create_task(writer())
    oversize = json.dumps({"jsonrpc": "2.0", "error": too_big(limits.max_request_bytes), "id": None}, separators=(",", ":"))
    try:
        async for message in ws:
            if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                if len(message.data) > limits.max_request_bytes:
                    send(oversize)
                    continue
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


TOO_MANY_CONNECTIONS = (
    b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain\r\ncontent-length: 46\r\nconnection: close\r\n\r\n"
    b"Too many connections. Please try again later.\n"
)


class _GuardedProtocol(asyncio.Protocol):
    """Forwards to aiohttp's request handler; counts the connection and closes it if it stalls or is one too many."""

    def __init__(self, handler: Any, guard: _ConnectionGuard) -> None:
        self._handler = handler
        self._guard = guard
        self._transport: Any = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        guard = self._guard
        if len(guard.open) >= guard.limits.max_connections:
            rate_limited.warning("connections", "refused a connection: %d open (--rpc-max-connections)", len(guard.open))
            transport.write(TOO_MANY_CONNECTIONS)
            transport.close()
            return
        self._transport = transport
        guard.open.add(transport)
        self._handler.connection_made(transport)
        self._timer = asyncio.get_running_loop().call_later(guard.limits.header_read_timeout, self._stalled)

    def _stalled(self) -> None:
        transport = self._transport
        if transport is not None and transport not in self._guard.heads_seen and not transport.is_closing():
            rate_limited.warning(
                "stalled", "closed a connection that sent no complete request in %gs", self._guard.limits.header_read_timeout
            )
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is None:
            return
        self._guard.open.discard(self._transport)
        self._guard.heads_seen.discard(self._transport)
        if self._timer is not None:
            self._timer.cancel()
        self._handler.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._transport is not None:
            self._handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self._handler.eof_received() if self._transport is not None else None

    def pause_writing(self) -> None:
        self._handler.pause_writing()

    def resume_writing(self) -> None:
        self._handler.resume_writing()


@dataclass
class _ConnectionGuard:
    limits: RpcLimits
    heads_seen: set[Any]
    open: set[Any]


def _guarded(server: Any, app: web.Application, limits: RpcLimits) -> Any:
    """A protocol factory around aiohttp's: counts connections and closes those that stall before a request."""
    guard = _ConnectionGuard(limits, app[HEADS_SEEN], set())
    return lambda: _GuardedProtocol(server(), guard)


def install_log_rate_limits(interval: float = 10.0) -> None:
    """Rate-limit the loggers that report per-connection trouble (see :class:`RateLimitFilter`)."""
    for name in ("asyncio", "aiohttp.server", "aiohttp.websocket", "aiohttp.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RateLimitFilter) for f in logger.filters):
            logger.addFilter(RateLimitFilter(interval))


async def serve(
    node: DevNode, host: str, port: int, limits: RpcLimits | None = None
) -> tuple[web.AppRunner, Endpoint]:
    """Start listening; return the runner (to clean up) and the bound endpoint."""
    limits = limits or RpcLimits(unsafe_methods=True)
    install_log_rate_limits()
    app = build_app(node, limits)
    listening: list[asyncio.Server] = []

    async def close_listener(app: web.Application) -> None:
        for server in listening:
            server.close()

    app.on_shutdown.insert(0, close_listener)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    assert runner.server is not None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_guarded(runner.server, app, limits), host, port, reuse_address=True)
    listening.append(server)
    bound = server.sockets[0].getsockname()[1] if server.sockets else port
    return runner, Endpoint(host, int(bound))


__all__ = ["Endpoint", "build_app", "serve"]
