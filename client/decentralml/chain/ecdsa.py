"""Substrate's ecdsa accounts: secp256k1 keys signing as ``MultiSignature::Ecdsa``.

substrate-interface's own ecdsa keypair is Ethereum's (a 20-byte address and
keccak-256), which an ``AccountId32`` chain rejects. Here the account id is
blake2-256 of the 33-byte compressed public key and a signature is r || s || v
(65 bytes, low s, as libsecp256k1 makes it) over blake2-256 of the message,
so ``SubstrateInterface.create_signed_extrinsic`` builds what the chain checks.
Imported lazily by :mod:`decentralml.chain.signer` (substrate-interface is slow
to import).
"""

from __future__ import annotations

from typing import Any

from eth_keys import keys
from substrateinterface import Keypair, KeypairType

from decentralml.primitives.hashing import blake2_256
from decentralml.primitives.signatures import ECDSA, verify
from decentralml.primitives.ss58 import address_of

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _message_bytes(data: Any) -> bytes:
    """The bytes substrate-interface passes to ``sign``: ScaleBytes, bytes, 0x-hex or text."""
    if hasattr(data, "data"):
        return bytes(data.data)
    if isinstance(data, str):
        return bytes.fromhex(data[2:]) if data.startswith("0x") else data.encode()
    return bytes(data)


class SubstrateEcdsaKeypair(Keypair):
    """A secp256k1 keypair from a 32-byte secret seed, with a Substrate ``AccountId32``."""

    def __init__(self, seed: bytes, ss58_format: int = 42) -> None:  # noqa: D107 - Keypair.__init__ wants a 20-byte key
        self._key = keys.PrivateKey(seed)
        self.compressed_public_key = self._key.public_key.to_compressed_bytes()
        self.crypto_type = KeypairType.ECDSA
        self.seed_hex = None
        self.derive_path = None
        self.mnemonic = None
        self.private_key = seed
        self.public_key = blake2_256(self.compressed_public_key)
        self.ss58_format = ss58_format
        self.ss58_address = address_of(self.public_key, ss58_format)

    def sign(self, data: Any) -> bytes:
        signature = self._key.sign_msg_hash(blake2_256(_message_bytes(data)))
        s, v = signature.s, signature.v
        if s > SECP256K1_N // 2:  # libsecp256k1 normalises to low s; so must we, to sign as sp-core does
            s, v = SECP256K1_N - s, v ^ 1
        return signature.r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((v,))

    def verify(self, data: Any, signature: Any) -> bool:
        raw = bytes.fromhex(signature[2:]) if isinstance(signature, str) else bytes(signature)
        return verify(ECDSA, raw, _message_bytes(data), self.public_key)
