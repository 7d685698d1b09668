"""Signing lineage records with a participant's key, and checking signatures.

The signed message is a fixed context string followed by the record's
SHA-256 digest, so a lineage signature can never be replayed as a signature
over a transaction or any other DecentralML message. Keys are
``substrateinterface.Keypair`` objects (sr25519, the chain's account scheme,
ed25519, or :class:`decentralml.chain.ecdsa.SubstrateEcdsaKeypair`). Signatures
are checked with sp-runtime's ``MultiSignature`` rules
(:mod:`decentralml.primitives.signatures`), as the chain checks transactions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decentralml.errors import IntegrityError, UsageError
from decentralml.lineage.record import LineageRecord, SignatureScheme, canonical_json, record_digest
from decentralml.primitives.digests import file_digest, path_digest
from decentralml.primitives.keypair import Keypair

SIGNING_CONTEXT = b"decentralml/lineage/v1:"


@dataclass(frozen=True)
class SignedLineage:
    """A lineage record with the signer's signature over :func:`signing_message`."""

    record: LineageRecord
    signature: bytes

    @property
    def digest(self) -> bytes:
        """The record's digest (what the chain stores as ``lineage_digest``)."""
        return record_digest(self.record)

    def to_dict(self) -> dict[str, Any]:
        return {"record": self.record.to_dict(), "signature": "0x" + self.signature.hex()}

    def to_json(self) -> bytes:
        """Canonical JSON of the signed document (the file/inline form)."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any) -> "SignedLineage":
        if not isinstance(data, dict) or set(data) != {"record", "signature"}:
            raise IntegrityError("Lineage document is malformed (expected keys 'record' and 'signature'): do not trust it.")
        signature = data["signature"]
        if not isinstance(signature, str) or not signature.startswith("0x"):
            raise IntegrityError("Lineage signature is not 0x-prefixed hex: do not trust the record.")
        try:
            raw = bytes.fromhex(signature[2:])
        except ValueError as exc:
            raise IntegrityError("Lineage signature is not valid hex: do not trust the record.") from exc
        if not isinstance(data["record"], dict):
            raise IntegrityError("Lineage document's record is not an object: do not trust it.")
        return cls(record=LineageRecord.from_dict(data["record"]), signature=raw)

    @classmethod
    def from_json(cls, raw: bytes | str) -> "SignedLineage":
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise IntegrityError("Lineage document is not valid JSON: do not trust it.") from exc
        return cls.from_dict(data)


def signing_message(record: LineageRecord) -> bytes:
    """The exact bytes a signer signs for a record."""
    return SIGNING_CONTEXT + record_digest(record)


def scheme_of(keypair: Keypair) -> SignatureScheme:
    """The lineage scheme matching a keypair's crypto type."""
    from substrateinterface import KeypairType

    if keypair.crypto_type == KeypairType.SR25519:
        return SignatureScheme.SR25519
    if keypair.crypto_type == KeypairType.ED25519:
        return SignatureScheme.ED25519
    if keypair.crypto_type == KeypairType.ECDSA and len(keypair.public_key) == 32:  # Substrate ecdsa, not Ethereum's
        return SignatureScheme.ECDSA
    raise UsageError("Lineage records can be signed with sr25519, ed25519 or Substrate ecdsa keys only.")


def signer_of(keypair: Keypair) -> tuple[str, SignatureScheme]:
    """``(signer, scheme)`` fields for a record signed by ``keypair``."""
    return keypair.public_key.hex(), scheme_of(keypair)


def sign_record(record: LineageRecord, keypair: Keypair) -> SignedLineage:
    """Sign ``record`` with ``keypair``; the record must name that key as its signer."""
    signer, scheme = signer_of(keypair)
    if record.signer != signer or record.scheme != scheme:
        raise UsageError("The lineage record names another signer than the key signing it: build it with signer_of(keypair).")
    if keypair.private_key is None:
        raise UsageError("The key given to sign the lineage record has no private part.")
    return SignedLineage(record=record, signature=bytes(keypair.sign(signing_message(record))))


def verify_signature(signed: SignedLineage) -> None:
    """Raise :class:`IntegrityError` unless the signature is the named signer's over this record."""
    from decentralml.primitives.signatures import ECDSA, ED25519, SIGNATURE_LENGTH, SR25519, verify

    scheme = {SignatureScheme.SR25519: SR25519, SignatureScheme.ED25519: ED25519, SignatureScheme.ECDSA: ECDSA}[
        signed.record.scheme
    ]
    if len(signed.signature) != SIGNATURE_LENGTH[scheme]:
        raise IntegrityError("Lineage signature has the wrong length: the record was altered or badly encoded.")
    try:
        signer = bytes.fromhex(signed.record.signer)
    except ValueError as exc:
        raise IntegrityError("Lineage signer is not a hex key: do not trust the record.") from exc
    if len(signer) != 32:
        raise IntegrityError("Lineage signer is not a 32-byte key: do not trust the record.")
    if not verify(scheme, signed.signature, signing_message(signed.record), signer):
        raise IntegrityError("Lineage signature does not match the record: the record was altered or signed by another key.")


def sign_step(
    keypair: Keypair,
    *,
    task_id: int,
    submission_id: int | None,
    step: str,
    framework: str,
    data: Path,
    params: Mapping[str, Any],
    code_hash: str,
    output: Path,
    started_at_ms: int,
    finished_at_ms: int,
    parents: tuple[str, ...] = (),
) -> SignedLineage:
    """Build and sign the record of one compute step that read ``data`` and wrote ``output``.

    The input hash is the SHA-256 of the data file, the output hash the storage
    digest of ``output`` (a file, or a directory's pack), the params hash that
    of ``params`` in canonical JSON; ``keypair`` is named as the signer.
    """
    from decentralml.lineage.hashing import sha256_params

    signer, scheme = signer_of(keypair)
    record = LineageRecord(
        task_id=task_id,
        submission_id=submission_id,
        step=step,
        framework=framework,
        input_hash=file_digest(Path(data))[0].hex(),
        params_hash=sha256_params(params),
        code_hash=code_hash,
        output_hash=path_digest(Path(output))[0].hex(),
        started_at_ms=started_at_ms,
        finished_at_ms=finished_at_ms,
        signer=signer,
        scheme=scheme,
        parents=tuple(parents),
    )
    return sign_record(record, keypair)
