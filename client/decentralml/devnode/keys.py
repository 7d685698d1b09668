"""Storage keys and values the node reads itself (for its start-up banner and timestamps)."""

from __future__ import annotations

import hashlib
from typing import Protocol

import xxhash


class _View(Protocol):
    def get(self, key: bytes) -> bytes | None: ...


def twox128(data: bytes) -> bytes:
    """FRAME's twox128 (two xxh64 hashes, little-endian)."""
    return xxhash.xxh64(data, seed=0).digest()[::-1] + xxhash.xxh64(data, seed=1).digest()[::-1]


def storage_prefix(pallet: str, item: str) -> bytes:
    return twox128(pallet.encode()) + twox128(item.encode())


def blake2_128_concat(key: bytes) -> bytes:
    return hashlib.blake2b(key, digest_size=16).digest() + key


TIMESTAMP_NOW = storage_prefix("Timestamp", "Now")


def system_account_key(account: bytes) -> bytes:
    return storage_prefix("System", "Account") + blake2_128_concat(account)


def free_balance(view: _View, account: bytes) -> int:
    """Free balance of an account (System.Account: 4 u32 counters, then free u128)."""
    value = view.get(system_account_key(account))
    return 0 if value is None or len(value) < 32 else int.from_bytes(value[16:32], "little")
