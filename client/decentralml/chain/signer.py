"""Keypairs from subkey-style secret URIs and SS58 address checks.

A secret URI is ``<secret><path>[///<password>]`` where ``<secret>`` is a BIP-39
mnemonic or a ``0x``-prefixed 32-byte hex seed, ``<path>`` is a sequence of
``//hard`` and ``/soft`` junctions, and ``<password>`` is the BIP-39 passphrase.
A URI starting with ``/`` (``//Alice``) uses the well-known development
mnemonic, as subkey does: only when the user types it.

sr25519 takes hard and soft junctions; ed25519 and ecdsa take hard junctions
only, derived as sp-core does (``blake2_256(("Ed25519HDKD" | "Secp256k1HDKD",
seed, chain_code))``). ecdsa keys are Substrate's, not Ethereum's: the account
is blake2-256 of the compressed secp256k1 public key and the signature is a
65-byte recoverable signature over blake2-256 of the payload
(:class:`decentralml.chain.ecdsa.SubstrateEcdsaKeypair`). The dev keys match subkey's
(``tests/chain/test_signer.py`` pins them against sp-core).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from decentralml.config import CryptoType
from decentralml.errors import UsageError
from decentralml.primitives.hashing import blake2_256
from decentralml.primitives.ss58 import SS58_FORMAT, address_of, public_key_of

if TYPE_CHECKING:  # substrate-interface is imported lazily: it takes most of the CLI's start-up time
    from substrateinterface import Keypair

_SURI = re.compile(r"^(?P<secret>[^/]*?)(?P<path>(?://?[^/]+)*)(?:///(?P<password>.*))?$")
_HEX_SEED = re.compile(r"^0x[0-9a-fA-F]{64}$")


def _split_suri(suri: str) -> tuple[str, str, str]:
    text = suri.strip()
    if text.startswith("/"):  # //Name: the well-known development mnemonic, as subkey does
        from substrateinterface.constants import DEV_PHRASE

        text = DEV_PHRASE + text
    match = _SURI.match(text)
    if match is None or not match["secret"].strip():
        raise UsageError("The secret URI is not valid.", hint="Use a mnemonic, a 0x hex seed, or //Name.")
    return match["secret"].strip(), match["path"] or "", match["password"] or ""


_HDKD_PREFIX = {CryptoType.ED25519: b"Ed25519HDKD", CryptoType.ECDSA: b"Secp256k1HDKD"}


def _hard_derive(prefix: bytes, seed: bytes, chain_code: bytes) -> bytes:
    """sp-core's hard junction for ed25519/ecdsa: blake2-256 of the SCALE tuple (prefix str, seed, chain code)."""
    encoded = bytes((len(prefix) << 2,)) + prefix + seed + chain_code  # compact length: prefixes are < 64 bytes
    return blake2_256(encoded)


def keypair_from_suri(suri: str, crypto: CryptoType = CryptoType.SR25519, ss58_format: int = SS58_FORMAT) -> "Keypair":
    """Build the keypair a secret URI names; never echoes the secret in errors."""
    import bip39
    import sr25519
    from substrateinterface import Keypair, KeypairType
    from substrateinterface.key import extract_derive_path

    secret, path, password = _split_suri(suri)
    if _HEX_SEED.match(secret):
        if password:
            raise UsageError("A hex seed takes no ///password.", hint="Remove the password part.")
        seed = bytes.fromhex(secret[2:])
    else:
        words = " ".join(secret.split())
        if not bip39.bip39_validate(words):
            raise UsageError(
                "The secret URI is neither a valid BIP-39 mnemonic nor a 0x-prefixed 32-byte hex seed.",
                hint="Check the words and their order.",
            )
        seed = bytes(bip39.bip39_to_mini_secret(words, password))
    try:
        junctions = extract_derive_path(path) if path else []
    except ValueError as exc:
        raise UsageError(f"The derivation path is not valid: {exc}.") from None
    if crypto is not CryptoType.SR25519:
        if any(not junction.is_hard for junction in junctions):
            raise UsageError(
                f"{crypto.value} keys take hard junctions only (//name), not soft ones (/name).",
                hint="Use // in the path, or --crypto sr25519.",
            )
        for junction in junctions:
            seed = _hard_derive(_HDKD_PREFIX[crypto], seed, junction.chain_code)
        if crypto is CryptoType.ECDSA:
            from eth_keys.exceptions import ValidationError

            from decentralml.chain.ecdsa import SubstrateEcdsaKeypair

            try:
                return SubstrateEcdsaKeypair(seed, ss58_format=ss58_format)
            except ValidationError:  # 0 or >= the curve order
                raise UsageError("The seed is not a valid secp256k1 secret key.", hint="Use another seed.") from None
        return Keypair.create_from_seed(seed, ss58_format=ss58_format, crypto_type=KeypairType.ED25519)
    keypair = Keypair.create_from_seed(seed, ss58_format=ss58_format, crypto_type=KeypairType.SR25519)
    if not junctions:
        return keypair
    public, private = keypair.public_key, keypair.private_key
    for junction in junctions:
        derive = sr25519.hard_derive_keypair if junction.is_hard else sr25519.derive_keypair
        _, public, private = derive((junction.chain_code, public, private), b"")
    return Keypair(public_key=public, private_key=private, ss58_format=ss58_format, crypto_type=KeypairType.SR25519)


def validate_address(address: str, ss58_format: int = SS58_FORMAT) -> str:
    """Return the address re-encoded for this chain, or raise UsageError."""
    text = address.strip()
    if text.lower().startswith("0x"):
        raise UsageError(
            f"{address!r} is a public key, not an SS58 address.",
            hint="Copy the address again, e.g. from `decentralml account list`.",
        )
    try:
        public = public_key_of(text, ss58_format)
    except UsageError as exc:
        raise UsageError(
            f"{address!r} is not a valid SS58 address for this chain (prefix {ss58_format}).",
            hint=exc.hint or "Copy the address again, e.g. from `decentralml account list`.",
        ) from None
    return address_of(public, ss58_format)
