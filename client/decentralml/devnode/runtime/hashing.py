"""Hashers and FRAME storage key derivation."""

from __future__ import annotations

import hashlib

import xxhash


def blake2_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def blake2_128(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def blake2_64(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=8).digest()


def twox_64(data: bytes) -> bytes:
    return xxhash.xxh64_digest(data, seed=0)[::-1]


def twox_128(data: bytes) -> bytes:
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
