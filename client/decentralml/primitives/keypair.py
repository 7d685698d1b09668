"""The signing key the package works with, as a structural type.

substrate-interface's ``Keypair`` (sr25519, ed25519) and
:class:`decentralml.chain.ecdsa.SubstrateEcdsaKeypair` satisfy it; so does any
object with these attributes, e.g. a hardware-wallet adapter.
"""

from __future__ import annotations

from typing import Any, Protocol


class Keypair(Protocol):
    """An account's key: its address, 32-byte account id, scheme, and a ``sign`` over bytes."""

    ss58_address: str
    public_key: bytes
    crypto_type: int  #: substrate-interface's ``KeypairType`` (0 ed25519, 1 sr25519, 2 ecdsa)
    private_key: bytes | None

    def sign(self, data: Any) -> bytes:
        """The signature over ``data`` (bytes, 0x hex or ``ScaleBytes``), 64 or 65 bytes by scheme."""
        ...
