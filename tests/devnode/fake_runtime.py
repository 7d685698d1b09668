"""A tiny runtime with the dev node's runtime interface, for testing the node on its own.

Not a Substrate runtime: an extrinsic is ``compact(len) ‖ sender (1 byte) ‖
nonce (u32 LE) ‖ payload``; a block bumps the sender's nonce and stores the
payload. It exercises the node's pool, sealing, history and persistence
without depending on the real runtime's progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from decentralml.devnode.codec import blake2_256, decode_compact, encode_body, encode_compact


class FakeInvalid(Exception):
    def __init__(self, data: str) -> None:
        super().__init__(data)
        self.code = 1010
        self.message = "Invalid Transaction"
        self.data = data


@dataclass(frozen=True)
class FakeValid:
    sender: bytes
    nonce: int
    provides: tuple[bytes, ...]
    requires: tuple[bytes, ...]
    priority: int = 0
    longevity: int = 64


@dataclass
class FakeResult:
    header: bytes
    hash: bytes
    extrinsics: list[bytes]
    changes: dict[bytes, bytes | None]
    rejected: list = field(default_factory=list)


def make_xt(sender: int, nonce: int, payload: bytes = b"") -> bytes:
    body = bytes([sender]) + nonce.to_bytes(4, "little") + payload
    return encode_compact(len(body)) + body


class FakeRuntime:
    metadata_v14 = b"meta\x0e"
    metadata_v15 = b"meta\x0f"

    def runtime_version(self) -> dict:
        return {
            "specName": "fake", "implName": "fake", "authoringVersion": 1, "specVersion": 1, "implVersion": 1,
            "apis": [["0xdf6acb689907609b", 5]], "transactionVersion": 1, "stateVersion": 1,
        }

    def properties(self) -> dict:
        return {"ss58Format": 42, "tokenDecimals": 12, "tokenSymbol": "UNIT"}

    def genesis(self):
        header = bytes(32) + encode_compact(0) + bytes(64) + b"\x00"
        return {b"genesis": b"\x01"}, header, blake2_256(header)

    @staticmethod
    def _parse(xt: bytes) -> tuple[bytes, int, bytes]:
        length, offset = decode_compact(xt)
        body = xt[offset:]
        if len(body) != length or length < 5:
            raise FakeInvalid("Could not decode")
        return body[:1], int.from_bytes(body[1:5], "little"), body[5:]

    def validate_transaction(self, state, xt: bytes, parent_hash=None, *, allow_future: bool = False) -> FakeValid:
        sender, nonce, payload = self._parse(xt)
        if payload == b"bad":
            raise FakeInvalid("Transaction has a bad signature")
        current = int.from_bytes(state.get(b"nonce:" + sender) or bytes(4), "little")
        if nonce < current:
            raise FakeInvalid("Transaction is outdated")
        requires = (sender + (nonce - 1).to_bytes(4, "little"),) if nonce > current else ()
        return FakeValid(sender, nonce, (sender + nonce.to_bytes(4, "little"),), requires)

    def build_block(self, state, parent_hash: bytes, number: int, timestamp_ms: int, extrinsics: list[bytes]) -> FakeResult:
        inherent = encode_compact(9) + b"\x04" + timestamp_ms.to_bytes(8, "little")
        changes: dict[bytes, bytes | None] = {b"ts": timestamp_ms.to_bytes(8, "little"), b"events": number.to_bytes(4, "little")}
        nonces: dict[bytes, int] = {}
        included, rejected = [inherent], []
        for xt in extrinsics:
            sender, nonce, payload = self._parse(xt)
            current = nonces.get(sender, int.from_bytes(state.get(b"nonce:" + sender) or bytes(4), "little"))
            if nonce != current:
                rejected.append((xt, FakeInvalid("Transaction is outdated" if nonce < current else "Transaction will be valid in the future")))
                continue
            nonces[sender] = nonce + 1
            changes[b"nonce:" + sender] = (nonce + 1).to_bytes(4, "little")
            changes[b"payload:" + sender] = payload or None
            included.append(xt)
        root = blake2_256(encode_body(included))
        header = parent_hash + encode_compact(number) + blake2_256(repr(sorted(changes.items())).encode()) + root + b"\x00"
        return FakeResult(header, blake2_256(header), included, changes, rejected)

    def state_call(self, state, method: str, data: bytes) -> bytes:
        if method == "Echo":
            return data
        raise ValueError(f"Exported method {method} is not found")
