"""WebSocket frames (RFC 6455) for the JSON-RPC server: a sans-IO reader with a message size
limit that never holds more than the limit, and the server's frame encoder.

aiohttp's reader holds a whole message before checking its size, so a message over the
limit could only be refused by closing the connection. This reader does what soketto (the
WebSocket layer of jsonrpsee, polkadot-sdk's RPC server) does: when the frames of a message
add up to more than the limit, it reports the message once as :class:`Oversized` (the server
answers -32007) and reads the rest of its bytes without keeping them, so the connection and
its subscriptions go on with the next message. The size is checked on each frame header,
before the payload is read. (soketto discards the frame that passes the limit but then
fails on the message's remaining fragments; this reader discards them too.)

Memory per connection: at most ``max_message_bytes`` of message data plus one frame
header. The reader negotiates no extension (no compression), so the RSV bits must be 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

# RFC 6455 section 1.3: appended to Sec-WebSocket-Key before hashing it into Sec-WebSocket-Accept.
HANDSHAKE_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Opcode(IntEnum):
    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(IntEnum):
    """Close status codes (RFC 6455 section 7.4.1)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    POLICY_VIOLATION = 1008


@dataclass(frozen=True)
class Message:
    """A complete data message (its fragments joined, unmasked)."""

    data: bytes
    binary: bool


@dataclass(frozen=True)
class Oversized:
    """A data message over the limit; ``size``: its bytes counted when the limit was passed."""

    size: int


@dataclass(frozen=True)
class Ping:
    payload: bytes


@dataclass(frozen=True)
class Close:
    """The peer's close frame: ``code`` None when it carried no status code."""

    code: int | None
    reason: bytes


Event = Message | Oversized | Ping | Close


class ProtocolError(Exception):
    """The peer broke RFC 6455 framing; the connection must be closed with ``code``."""

    def __init__(self, reason: str, code: CloseCode = CloseCode.PROTOCOL_ERROR) -> None:
        super().__init__(reason)
        self.code = code


def unmask(data: bytes | memoryview, mask: bytes, offset: int = 0) -> bytes:
    """XOR ``data`` with the 4-byte ``mask`` starting ``offset`` bytes into the payload (RFC 6455 5.3)."""
    length = len(data)
    if length == 0:
        return b""
    start = offset % 4
    key = (mask[start:] + mask[:start]) * (length // 4 + 1)
    mixed = int.from_bytes(data, "little") ^ int.from_bytes(key[:length], "little")
    return mixed.to_bytes(length, "little")


class FrameReader:
    """Turns the bytes a client sends into :data:`Event` values, frame by frame.

    ``feed(data)`` takes any slice of the stream (a frame may span many calls) and returns
    the events completed by it; it raises :class:`ProtocolError` on a framing violation
    (unmasked frame, RSV bits, unknown opcode, fragmented or long control frame, a
    continuation without a message or a new message inside one, a 64-bit length with its top
    bit set). After a :class:`Close` the rest of the stream is ignored.
    """

    def __init__(self, max_message_bytes: int) -> None:
        self.max_message_bytes = max_message_bytes
        self._head = bytearray()  # the frame header read so far
        self._in_payload = False
        self._remaining = 0  # payload bytes of the current frame still to come
        self._fin = False
        self._opcode = Opcode.CONTINUATION
        self._mask = b""
        self._offset = 0  # payload bytes of the current frame already read
        self._control = bytearray()
        # The data message in progress: its opcode (None: none), parts, size and whether it is discarded.
        self._message: Opcode | None = None
        self._parts: list[bytes] = []
        self._size = 0
        self._discarding = False
        self._closed = False

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        view = memoryview(data)
        pos = 0
        end = len(view)
        while pos < end and not self._closed:
            if not self._in_payload:
                pos = self._read_head(view, pos, events)
                continue
            take = min(self._remaining, end - pos)
            chunk = view[pos : pos + take]
            pos += take
            self._remaining -= take
            if self._opcode >= Opcode.CLOSE:
                self._control += unmask(chunk, self._mask, self._offset)
            elif not self._discarding:
                self._parts.append(unmask(chunk, self._mask, self._offset))
            self._offset += take
            if self._remaining == 0:
                self._end_frame(events)
        return events

    def _read_head(self, view: memoryview, pos: int, events: list[Event]) -> int:
        head = self._head
        need = 2
        if len(head) >= 2:
            length7 = head[1] & 0x7F
            need = 2 + (2 if length7 == 126 else 8 if length7 == 127 else 0) + 4
        take = min(need - len(head), len(view) - pos)
        head += view[pos : pos + take]
        pos += take
        if len(head) < need:
            return pos
        if need == 2:
            self._check_first_bytes(head[0], head[1])
            return pos  # now the full header length is known
        length7 = head[1] & 0x7F
        if length7 == 126:
            length = int.from_bytes(head[2:4], "big")
        elif length7 == 127:
            length = int.from_bytes(head[2:10], "big")
            if length >> 63:
                raise ProtocolError("frame length with the most significant bit set")
        else:
            length = length7
        self._mask = bytes(head[-4:])
        self._fin = bool(head[0] & 0x80)
        self._opcode = Opcode(head[0] & 0x0F)
        self._remaining = length
        self._offset = 0
        self._head = bytearray()
        self._in_payload = True
        if self._opcode >= Opcode.CLOSE:
            self._control = bytearray()
        else:
            self._start_data_frame(length, events)
        if length == 0:
            self._end_frame(events)
        return pos

    def _check_first_bytes(self, byte0: int, byte1: int) -> None:
        if byte0 & 0x70:
            raise ProtocolError("reserved bits set without a negotiated extension")
        if not byte1 & 0x80:
            raise ProtocolError("unmasked frame from a client")
        opcode = byte0 & 0x0F
        if opcode not in Opcode._value2member_map_:
            raise ProtocolError(f"unknown opcode {opcode}")
        if opcode >= Opcode.CLOSE and (not byte0 & 0x80 or (byte1 & 0x7F) > 125):
            raise ProtocolError("fragmented or over-long control frame")

    def _start_data_frame(self, length: int, events: list[Event]) -> None:
        if self._opcode == Opcode.CONTINUATION:
            if self._message is None:
                raise ProtocolError("continuation frame without a message in progress")
        else:
            if self._message is not None:
                raise ProtocolError("new message before the last one's final fragment")
            self._message = self._opcode
            self._parts = []
            self._size = 0
            self._discarding = False
        self._size += length
        if not self._discarding and self._size > self.max_message_bytes:
            self._discarding = True
            self._parts = []
            events.append(Oversized(self._size))

    def _end_frame(self, events: list[Event]) -> None:
        self._in_payload = False
        opcode = self._opcode
        if opcode >= Opcode.CLOSE:
            payload = bytes(self._control)
            self._control = bytearray()
            if opcode == Opcode.PING:
                events.append(Ping(payload))
            elif opcode == Opcode.CLOSE:
                if len(payload) == 1:
                    raise ProtocolError("close frame with a one-byte payload")
                code = int.from_bytes(payload[:2], "big") if payload else None
                events.append(Close(code, payload[2:]))
                self._closed = True
            return
        if not self._fin:
            return
        if not self._discarding:
            data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
            events.append(Message(data, self._message == Opcode.BINARY))
        self._message = None
        self._parts = []
        self._discarding = False


def encode_frame(opcode: Opcode, payload: bytes, *, fin: bool = True, mask: bytes | None = None) -> bytes:
    """One uncompressed frame: unmasked (server to client) unless a 4-byte ``mask`` is given (client to server)."""
    length = len(payload)
    first = (0x80 if fin else 0) | opcode
    masked = 0x80 if mask is not None else 0
    if length < 126:
        header = bytes((first, masked | length))
    elif length < 1 << 16:
        header = bytes((first, masked | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((first, masked | 127)) + length.to_bytes(8, "big")
    if mask is None:
        return header + payload
    return header + mask + unmask(payload, mask)


def text_frame(text: str) -> bytes:
    """One unmasked, uncompressed WebSocket text frame (RFC 6455, server to client)."""
    return encode_frame(Opcode.TEXT, text.encode())


def close_frame(code: int, reason: str = "") -> bytes:
    return encode_frame(Opcode.CLOSE, code.to_bytes(2, "big") + reason.encode()[:123])


__all__ = [
    "HANDSHAKE_GUID",
    "Close",
    "CloseCode",
    "Event",
    "FrameReader",
    "Message",
    "Opcode",
    "Oversized",
    "Ping",
    "ProtocolError",
    "close_frame",
    "encode_frame",
    "text_frame",
    "unmask",
]
