"""Substrate's hashers and FRAME storage key derivation.

blake2 as in sp-core's ``blake2_*`` (BLAKE2b with the given digest size, no
key); twox as in sp-core's ``twox_*`` (xxHash64 with seeds 0, 1, ..., each
digest little-endian, concatenated). Storage keys as in FRAME's
``StorageHasher``: ``twox128(pallet) ‖ twox128(item)`` and, per map key,
``Blake2_128Concat`` / ``Twox64Concat`` / ``Identity``.
"""

from __future__ import annotations

import hashlib

import xxhash


def blake2_256(data: bytes) -> bytes:
    """32-byte BLAKE2b (block, extrinsic and ecdsa message hashes)."""
    return hashlib.blake2b(data, digest_size=32).digest()


def blake2_128(data: bytes) -> bytes:
    """16-byte BLAKE2b."""
    return hashlib.blake2b(data, digest_size=16).digest()


def blake2_64(data: bytes) -> bytes:
    """8-byte BLAKE2b."""
    return hashlib.blake2b(data, digest_size=8).digest()


def twox_64(data: bytes) -> bytes:
    """8-byte xxHash64 (seed 0), little-endian."""
    return xxhash.xxh64_digest(data, seed=0)[::-1]


def twox_128(data: bytes) -> bytes:
    """16 bytes: xxHash64 with seeds 0 and 1, each little-endian."""
    return xxhash.xxh64_digest(data, seed=0)[::-1] + xxhash.xxh64_digest(data, seed=1)[::-1]


def blake2_128_concat(key: bytes) -> bytes:
    return blake2_128(key) + key


def twox_64_concat(key: bytes) -> bytes:
    return twox_64(key) + key


def identity(key: bytes) -> bytes:
    return key


def storage_prefix(pallet: str, item: str) -> bytes:
    """``twox128(pallet) ‖ twox128(item)``: the key of a plain value, the prefix of a map."""
    return twox_128(pallet.encode()) + twox_128(item.encode())
