"""JSON-RPC over WebSocket and HTTP POST on one port (aiohttp).

Each WebSocket connection reads its messages in order and writes through its
own queue, so a slow or misbehaving client only ever affects itself: malformed
JSON gets a -32700 reply, a request over the size limit a -32007 reply whatever
its size (the connection stays; its bytes past the limit are read and dropped, see
:mod:`decentralml.devnode.websocket`), a client that stops reading is disconnected once the bytes
waiting for it pass ``max_outbound_bytes``, and the chain goes on for everyone
else. Connections are counted (``--rpc-max-connections``; past it a new one gets
HTTP 429 and is closed), a connection that has not sent a complete request head
within ``header_read_timeout`` is closed, and a browser ``Origin`` outside
``--rpc-cors`` gets HTTP 403. Limits: :mod:`decentralml.devnode.limits`.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from decentralml.devnode.limits import RateLimitedLog, RateLimitFilter, RpcLimits, too_big
from decentralml.devnode.node import DevNode
from decentralml.devnode.rpc import RpcMethods, Session, handle_message, run_after_reply
from decentralml.devnode.websocket import (
    HANDSHAKE_GUID,
    Close,
    CloseCode,
    Event,
    FrameReader,
    Message,
    Opcode,
    Oversized,
    Ping,
    ProtocolError,
    close_frame,
    encode_frame,
    text_frame,
)

log = logging.getLogger(__name__)
rate_limited = RateLimitedLog(log)

# Bytes written but not yet taken by a client before the writer waits for it.
WRITE_BUFFER_LIMIT = 4 * 1024 * 1024
# Bytes of complete messages waiting to be handled on one connection before reading from it pauses.
INBOUND_QUEUE_BYTES = 1024 * 1024


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
    # HTTP bodies are read by _http in chunks, stopping one chunk past the limit.
    app = web.Application(client_max_size=limits.max_request_bytes)
    connections: set[_WsConnection] = set()
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
            return await _websocket(request, methods, connections, limits)
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
        for conn in list(connections):
            conn.close(CloseCode.GOING_AWAY, "node shutting down")

    app.on_shutdown.append(close_sockets)
    app.router.add_route("*", "/", root)
    app.router.add_get("/health", health)
    app.router.add_get("/health/readiness", readiness)
    return app


HEADS_SEEN: web.AppKey[set[Any]] = web.AppKey("heads_seen", set)


async def _http(request: web.Request, methods: RpcMethods, limits: RpcLimits, headers: dict[str, str]) -> web.Response:
    """One POST: a body over the limit gets 413 with -32007, read no further than one chunk past the limit."""
    limit = limits.max_request_bytes
    if (request.content_length or 0) > limit:
        return _json_error(413, too_big(limit), headers)
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:  # chunked, or a Content-Length that lied: aiohttp discards the rest
            return _json_error(413, too_big(limit), headers)
    session = Session(send=lambda text: None, subscriptions_allowed=False)
    reply = await handle_message(methods, bytes(body), session)
    session.close()
    return web.Response(text=reply or "", content_type="application/json", headers=headers)


class _WsConnection:
    """One upgraded connection: aiohttp feeds it the bytes (it is the request's payload parser),
    the handler takes its events in order.

    Pings are answered at once; complete messages wait in a queue whose size pauses reading
    from the socket past :data:`INBOUND_QUEUE_BYTES`, so a client that sends faster than the
    node answers is slowed down, not buffered.
    """

    def __init__(self, protocol: Any, transport: Any, max_message_bytes: int) -> None:
        self._protocol = protocol
        self.transport = transport
        self._reader = FrameReader(max_message_bytes)
        self._events: collections.deque[Event | ProtocolError | None] = collections.deque()
        self._ready = asyncio.Event()
        self._queued = 0
        self._paused = False
        self._done = False  # EOF, a close frame or a protocol error: nothing more is read
        self.closed = False  # our close frame is sent

    # aiohttp's payload-parser interface (RequestHandler.set_parser).
    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self._done:
            return False, b""
        try:
            events: list[Event | ProtocolError] = list(self._reader.feed(data))
        except ProtocolError as exc:
            events = [exc]
        for event in events:
            if isinstance(event, Ping):
                # Bounded like every other write: a client that pings and never reads gets no pongs.
                if self.transport.get_write_buffer_size() <= WRITE_BUFFER_LIMIT:
                    self.transport.write(encode_frame(Opcode.PONG, event.payload))
                continue
            if isinstance(event, Message):
                self._queued += len(event.data)
            elif isinstance(event, (Close, ProtocolError)):
                self._done = True
            self._events.append(event)
            self._ready.set()
        if self._queued > INBOUND_QUEUE_BYTES and not self._paused:
            self._paused = True
            self._protocol.pause_reading()
        return False, b""

    def feed_eof(self) -> None:
        self._done = True
        self._events.append(None)
        self._ready.set()

    async def next_event(self) -> Event | ProtocolError | None:
        """The next message, oversized notice, close or protocol error; None at end of stream."""
        while not self._events:
            self._ready.clear()
            await self._ready.wait()
        event = self._events.popleft()
        if isinstance(event, Message):
            self._queued -= len(event.data)
            if self._paused and self._queued <= INBOUND_QUEUE_BYTES // 2:
                self._paused = False
                self._protocol.resume_reading()
        return event

    def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Send our close frame (once) and close the socket once what is buffered is written."""
        if not self.closed and not self.transport.is_closing():
            self.transport.write(close_frame(code, reason))
            self.transport.close()
        self.closed = True
        self._done = True


def _accept_key(request: web.Request) -> str | None:
    """Sec-WebSocket-Accept for a valid RFC 6455 handshake request, else None."""
    key = request.headers.get("Sec-WebSocket-Key", "")
    if request.headers.get("Sec-WebSocket-Version") != "13":
        return None
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            return None
    except ValueError:
        return None
    return base64.b64encode(hashlib.sha1(key.encode() + HANDSHAKE_GUID).digest()).decode()


async def _websocket(
    request: web.Request,
    methods: RpcMethods,
    connections: set[_WsConnection],
    limits: RpcLimits,
) -> web.StreamResponse:
    accept = _accept_key(request)
    if accept is None:
        return web.Response(status=400, text="Invalid WebSocket handshake (RFC 6455, version 13)\n")
    response = web.StreamResponse(
        status=101, headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": accept}
    )
    response.force_close()
    await response.prepare(request)
    transport = request.transport
    if transport is None or transport.is_closing():
        return response
    # aiohttp hands every byte after the handshake to the request's payload parser: ours.
    protocol: Any = request.protocol
    conn = _WsConnection(protocol, transport, limits.max_request_bytes)
    protocol.set_parser(conn)
    connections.add(conn)
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

    async def writer() -> None:
        while True:
            texts = [await outbox.get()]
            while not outbox.empty():  # everything already queued goes out in one socket write
                texts.append(outbox.get_nowait())
            frames = b"".join(text_frame(t) for t in texts if t is not None)
            queued[0] -= sum(len(t) for t in texts if t is not None)
            if frames:
                if transport.is_closing():
                    return
                transport.write(frames)
                while transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
                    if overflow.is_set() or transport.is_closing():
                        transport.abort()
                        return
                    await asyncio.sleep(0.005)  # the client reads slowly: let it catch up
            if None in texts:  # the end of the connection (the handler closes it), or a client that does not read
                if overflow.is_set():
                    conn.close(CloseCode.POLICY_VIOLATION)
                return

    session = Session(send=send, max_subscriptions=limits.max_subscriptions_per_connection)
    writer_task = asyncio.create_task(writer())
    oversize = json.dumps({"jsonrpc": "2.0", "error": too_big(limits.max_request_bytes), "id": None}, separators=(",", ":"))
    close_code: int = CloseCode.NORMAL
    try:
        while not conn.closed:
            event = await conn.next_event()
            if event is None:
                break
            if isinstance(event, ProtocolError):
                rate_limited.warning("ws-protocol", "closing a WebSocket connection: %s", event)
                close_code = event.code
                break
            if isinstance(event, Close):
                if event.code is not None and event.code not in (1005, 1006, 1015):
                    close_code = event.code
                break
            if isinstance(event, Oversized):
                send(oversize)
                continue
            assert isinstance(event, Message)
            reply = await handle_message(methods, event.data, session)
            if reply is not None:
                send(reply)
            run_after_reply(session)
    finally:
        session.close()
        outbox.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError, asyncio.TimeoutError):
            await asyncio.wait_for(writer_task, timeout=5)
        conn.close(close_code)
        connections.discard(conn)
    return response


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
