"""``MultiSignature`` verification as sp-runtime does it."""

from __future__ import annotations

import ed25519_zebra
import sr25519
from eth_keys.datatypes import Signature as _EcdsaSignature
from eth_keys.exceptions import BadSignature, ValidationError

from .hashing import blake2_256

ED25519 = 0
SR25519 = 1
ECDSA = 2
SIGNATURE_LENGTH = {ED25519: 64, SR25519: 64, ECDSA: 65}


def verify(scheme: int, signature: bytes, message: bytes, account: bytes) -> bool:
    """True when ``signature`` by ``account`` over ``message`` is valid under ``scheme``.

    sr25519 and ed25519 verify against the account id as public key; ecdsa
    recovers the secp256k1 key from the signature over blake2-256(message)
    and compares blake2-256 of its compressed form with the account id.
    """
    try:
        if scheme == SR25519:
            return bool(sr25519.verify(signature, message, account))
        if scheme == ED25519:
            return bool(ed25519_zebra.ed_verify(signature, message, account))
        if scheme == ECDSA:
            v = signature[64]
            if v > 26:
                v -= 27
            if v > 1:
                return False
            sig = _EcdsaSignature(signature[:64] + bytes((v,)))
            public = sig.recover_public_key_from_msg_hash(blake2_256(message))
            return blake2_256(public.to_compressed_bytes()) == account
    except (BadSignature, ValidationError, ValueError, TypeError, OverflowError):
        return False
    return False
