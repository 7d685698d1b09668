"""The dev node's WebSocket frame reader (RFC 6455): message size limit without buffering past it."""

from __future__ import annotations

import os

import pytest

from decentralml.devnode.websocket import (
    Close,
    FrameReader,
    Message,
    Opcode,
    Oversized,
    Ping,
    ProtocolError,
    encode_frame,
    unmask,
)

LIMIT = 1000
MASK = b"\x12\x34\x56\x78"


def frame(opcode: Opcode, payload: bytes, fin: bool = True) -> bytes:
    return encode_frame(opcode, payload, fin=fin, mask=MASK)


def feed_all(reader: FrameReader, data: bytes, step: int | None = None) -> list:
    if step is None:
        return reader.feed(data)
    events = []
    for start in range(0, len(data), step):
        events.extend(reader.feed(data[start : start + step]))
    return events


def fragments(opcode: Opcode, payload: bytes, size: int) -> bytes:
    parts = [payload[i : i + size] for i in range(0, len(payload), size)] or [b""]
    out = b""
    for index, part in enumerate(parts):
        out += frame(opcode if index == 0 else Opcode.CONTINUATION, part, fin=index == len(parts) - 1)
    return out


@pytest.mark.parametrize("step", [None, 1, 7, 4096])
@pytest.mark.parametrize("size", [0, 1, 125, 126, LIMIT - 1, LIMIT])
def test_messages_up_to_the_limit_arrive_whole(size, step):
    payload = os.urandom(size)
    for opcode in (Opcode.TEXT, Opcode.BINARY):
        reader = FrameReader(LIMIT)
        events = feed_all(reader, frame(opcode, payload) + fragments(opcode, payload, 97), step)
        assert events == [Message(payload, opcode == Opcode.BINARY)] * 2


@pytest.mark.parametrize("step", [None, 1, 333])
@pytest.mark.parametrize("size", [LIMIT + 1, 2 * LIMIT, 10 * LIMIT, 70_000])
def test_a_message_over_the_limit_is_reported_once_and_the_next_one_arrives(size, step):
    payload = b"x" * size
    after = b'{"id":1}'
    for data in (frame(Opcode.TEXT, payload), fragments(Opcode.BINARY, payload, 300)):
        reader = FrameReader(LIMIT)
        events = feed_all(reader, data + frame(Opcode.TEXT, after), step)
        assert len(events) == 2 and isinstance(events[0], Oversized) and events[0].size > LIMIT
        assert events[1] == Message(after, False)


def test_nothing_past_the_limit_is_kept():
    reader = FrameReader(LIMIT)
    # A frame announcing 2**40 bytes: reported from its header alone, before any payload.
    head = frame(Opcode.BINARY, b"")[:1] + bytes((0x80 | 127,)) + (1 << 40).to_bytes(8, "big") + MASK
    assert reader.feed(head) == [Oversized(1 << 40)]
    for _ in range(100):
        assert reader.feed(b"\0" * 65536) == []
    assert reader._parts == []
    # A fragmented message: the fragments before the limit are dropped once it is passed.
    reader = FrameReader(LIMIT)
    assert reader.feed(frame(Opcode.TEXT, b"a" * 900, fin=False)) == []
    assert reader.feed(frame(Opcode.CONTINUATION, b"b" * 200, fin=False)) == [Oversized(1100)]
    assert reader._parts == []
    assert reader.feed(frame(Opcode.CONTINUATION, b"c" * 5000, fin=True)) == []
    assert reader.feed(frame(Opcode.TEXT, b"ok")) == [Message(b"ok", False)]


def test_control_frames_between_fragments_and_inside_a_discarded_message():
    reader = FrameReader(LIMIT)
    data = (
        frame(Opcode.TEXT, b"x" * 800, fin=False)
        + frame(Opcode.PING, b"p1")
        + frame(Opcode.CONTINUATION, b"y" * 800, fin=False)
        + frame(Opcode.PONG, b"")
        + frame(Opcode.PING, b"p2")
        + frame(Opcode.CONTINUATION, b"z", fin=True)
        + frame(Opcode.TEXT, b"a", fin=False)
        + frame(Opcode.PING, b"")
        + frame(Opcode.CONTINUATION, b"b", fin=True)
        + frame(Opcode.CLOSE, (1000).to_bytes(2, "big") + b"bye")
        + frame(Opcode.TEXT, b"after close")
    )
    assert feed_all(reader, data, 5) == [
        Ping(b"p1"), Oversized(1600), Ping(b"p2"), Ping(b""), Message(b"ab", False), Close(1000, b"bye")
    ]


@pytest.mark.parametrize(
    "data",
    [
        encode_frame(Opcode.TEXT, b"unmasked"),
        bytes((0x80 | 0x40 | Opcode.TEXT, 0x80)) + MASK,  # RSV1 without an extension
        bytes((0x80 | 0x3, 0x80)) + MASK,  # reserved opcode
        frame(Opcode.PING, b"", fin=False),
        bytes((0x80 | Opcode.PING, 0x80 | 126)) + (200).to_bytes(2, "big") + MASK,
        frame(Opcode.CONTINUATION, b"no message"),
        frame(Opcode.TEXT, b"a", fin=False) + frame(Opcode.TEXT, b"b"),
        bytes((0x80 | Opcode.BINARY, 0x80 | 127)) + (1 << 63).to_bytes(8, "big") + MASK,
        frame(Opcode.CLOSE, b"\x03"),
    ],
)
def test_framing_violations_raise_protocol_error(data):
    with pytest.raises(ProtocolError) as raised:
        feed_all(FrameReader(LIMIT), data, 1)
    assert raised.value.code == 1002


@pytest.mark.parametrize("offset", range(6))
def test_unmask_at_any_offset_matches_bytewise_xor(offset):
    data = os.urandom(37)
    expected = bytes(b ^ MASK[(offset + i) % 4] for i, b in enumerate(data))
    assert unmask(data, MASK, offset) == expected
    assert unmask(b"", MASK, offset) == b""
