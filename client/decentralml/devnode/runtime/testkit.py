"""Build and sign extrinsics for this runtime (tests, benchmarks, tools).

Signers are passed in as ``(public_key, sign_function, scheme)``; nothing here
knows any key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from decentralml.primitives.scale import boolean, compact, option, u32, u64, vec_u8
from decentralml.primitives.signatures import SR25519

from .extrinsic import Era, encode_signed, encode_unsigned, signed_payload


@dataclass(frozen=True)
class Signer:
    account: bytes
    sign: Callable[[bytes], bytes]
    scheme: int = SR25519


class Builder:
    """Encodes calls by pallet and call name (indices from the runtime's metadata) and signs them."""

    def __init__(self, runtime: object, genesis_hash: bytes) -> None:
        self.rt = runtime
        self.genesis_hash = genesis_hash

    def call(self, pallet: str, name: str, args: bytes = b"") -> bytes:
        return self.rt.index.call_index(pallet, name) + args  # type: ignore[attr-defined]

    def sign(
        self,
        signer: Signer,
        call: bytes,
        nonce: int,
        *,
        tip: int = 0,
        era: Era | None = None,
        era_hash: bytes | None = None,
        spec_version: int | None = None,
        tx_version: int | None = None,
        genesis_hash: bytes | None = None,
    ) -> bytes:
        era = era or Era()
        extra = era.encode() + compact(nonce) + compact(tip)
        payload = signed_payload(
            call,
            extra,
            self.rt.spec_version if spec_version is None else spec_version,  # type: ignore[attr-defined]
            self.rt.transaction_version if tx_version is None else tx_version,  # type: ignore[attr-defined]
            genesis_hash or self.genesis_hash,
            era_hash or self.genesis_hash,
        )
        return encode_signed(signer.account, signer.scheme, signer.sign(payload), era, nonce, tip, call)

    def unsigned(self, call: bytes) -> bytes:
        return encode_unsigned(call)

    # common calls
    def transfer(self, dest: bytes, value: int, *, keep_alive: bool = False) -> bytes:
        name = "transfer_keep_alive" if keep_alive else "transfer_allow_death"
        return self.call("Balances", name, b"\x00" + dest + compact(value))

    def transfer_all(self, dest: bytes, keep_alive: bool) -> bytes:
        return self.call("Balances", "transfer_all", b"\x00" + dest + boolean(keep_alive))

    def force_transfer(self, source: bytes, dest: bytes, value: int) -> bytes:
        return self.call("Balances", "force_transfer", b"\x00" + source + b"\x00" + dest + compact(value))

    def sudo(self, call: bytes) -> bytes:
        return self.call("Sudo", "sudo", call)

    def remark(self, data: bytes, *, with_event: bool = False) -> bytes:
        return self.call("System", "remark_with_event" if with_event else "remark", vec_u8(data))


def asset_ref(storage: int, uri: bytes, digest: bytes) -> bytes:
    return bytes((storage,)) + vec_u8(uri) + digest


def task_assets(task_type: int, first: bytes, base_model: bytes | None = None) -> bytes:
    out = bytes((task_type,)) + first
    if task_type == 1:
        out += option(base_model)
    return out


def create_task_args(
    task_type: int,
    question: bytes,
    pays_amount: int,
    max_assignments: int,
    strategy: int,
    expiration_block: int,
    assignment_deadline: int,
    assets: bytes,
) -> bytes:
    return (
        bytes((task_type,)) + vec_u8(question) + compact(pays_amount) + u32(max_assignments)
        + bytes((strategy,)) + u32(expiration_block) + u32(assignment_deadline) + assets
    )  # fmt: skip


def send_task_result_args(
    submission_id: int, result: bytes, inline_result: bytes | None = None, lineage_digest: bytes | None = None
) -> bytes:
    return (
        u64(submission_id) + result + option(vec_u8(inline_result) if inline_result is not None else None)
        + option(lineage_digest)
    )  # fmt: skip


def validate_args(submission_id: int, passed: bool, score: int) -> bytes:
    return u64(submission_id) + boolean(passed) + u32(score)


def id_arg(value: int) -> bytes:
    return u64(value)


class Chain:
    """An in-memory chain over a :class:`~.state.DictState`: one block per ``produce`` call."""

    def __init__(self, runtime: object, *, start_ms: int = 1_700_000_000_000) -> None:
        from .state import DictState

        self.rt = runtime
        storage, header, genesis_hash = runtime.genesis()  # type: ignore[attr-defined]
        self.state = DictState(storage)
        self.genesis_hash = genesis_hash
        self.head_hash = genesis_hash
        self.head_header = header
        self.number = 0
        self.hashes = [genesis_hash]
        self.clock_ms = start_ms
        self.builder = Builder(runtime, genesis_hash)
        self.last = None

    def validate(self, xt: bytes, **kw: object) -> object:
        return self.rt.validate_transaction(self.state, xt, self.head_hash, **kw)  # type: ignore[attr-defined]

    def produce(self, extrinsics: list[bytes] | None = None, *, timestamp_ms: int | None = None) -> object:
        self.clock_ms = self.clock_ms + 6_000 if timestamp_ms is None else timestamp_ms
        result = self.rt.build_block(  # type: ignore[attr-defined]
            self.state, self.head_hash, self.number + 1, self.clock_ms, list(extrinsics or [])
        )
        self.state.apply(result.changes)
        self.number += 1
        self.head_hash = result.hash
        self.head_header = result.header
        self.hashes.append(result.hash)
        self.last = result
        return result

    def nonce(self, account: bytes) -> int:
        raw = self.rt.state_call(self.state, "AccountNonceApi_account_nonce", account)  # type: ignore[attr-defined]
        return int.from_bytes(raw, "little")

    def account(self, account: bytes) -> tuple[int, int, int, int, int, int, int, int]:
        from .keys import account as account_key
        from .types import AccountInfo

        raw = self.state.get(account_key(account))
        info = AccountInfo.decode(raw) if raw else AccountInfo()
        return (info.nonce, info.consumers, info.providers, info.sufficients, info.free, info.reserved, info.frozen, info.flags)

    def free(self, account: bytes) -> int:
        return self.account(account)[4]


@dataclass(frozen=True)
class DecodedEvent:
    phase: str
    extrinsic_idx: int | None
    name: str  # "Pallet.Event"
    attributes: object


class EventDecoder:
    """Decodes ``System.Events`` with scalecodec and the runtime's own metadata (an independent codec)."""

    def __init__(self, runtime: object) -> None:
        from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
        from scalecodec.type_registry import load_type_registry_preset

        self._bytes = ScaleBytes
        self.rc = RuntimeConfigurationObject()
        self.rc.update_type_registry(load_type_registry_preset("core"))
        self.md = self.rc.create_scale_object("MetadataVersioned", data=ScaleBytes(runtime.metadata_v14))  # type: ignore[attr-defined]
        self.md.decode()
        self.rc.add_portable_registry(self.md)
        self.events_type = f"scale_info::{runtime.index.md.pallets['System'].storage['Events'].value_type}"  # type: ignore[attr-defined]

    def decode(self, raw: bytes) -> list[DecodedEvent]:
        obj = self.rc.create_scale_object(self.events_type, data=self._bytes(raw), metadata=self.md)
        obj.decode()
        return [
            DecodedEvent(e["phase"], e.get("extrinsic_idx"), f"{e['module_id']}.{e['event_id']}", e["attributes"])
            for e in obj.value
        ]
