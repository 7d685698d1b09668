"""Storage keys and values the node reads itself (for its start-up banner and timestamps)."""

from __future__ import annotations

from typing import Protocol

from decentralml.primitives.hashing import blake2_128_concat, storage_prefix


class _View(Protocol):
    def get(self, key: bytes) -> bytes | None: ...


TIMESTAMP_NOW = storage_prefix("Timestamp", "Now")


def system_account_key(account: bytes) -> bytes:
    return storage_prefix("System", "Account") + blake2_128_concat(account)


def free_balance(view: _View, account: bytes) -> int:
    """Free balance of an account (System.Account: 4 u32 counters, then free u128)."""
    value = view.get(system_account_key(account))
    return 0 if value is None or len(value) < 32 else int.from_bytes(value[16:32], "little")
