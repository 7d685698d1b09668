"""Artifact references: what the chain records about a stored artifact.

A :class:`Reference` says where an artifact lives (``storage_type`` and
``uri``), what it is (``digest``: the SHA-256 of its bytes, or of its
deterministic pack for a directory, see :mod:`decentralml.primitives.packing`)
and, when known locally, how many bytes it has (``size``; the chain's
``AssetRef`` has no size, so references read from the chain carry ``None``).

URIs by backend (a trailing ``/`` marks a directory artifact everywhere):

* ``file:///<data dir>/files/<sha256 hex>`` and ``file:///<data dir>/dirs/<sha256 hex>/``
* ``s3://<bucket>/<prefix>/<sha256 hex>`` and ``s3://<bucket>/<prefix>/<sha256 hex>/``
* ``ipfs://<CID>`` and ``ipfs://<CID>/``

References never carry credentials: :func:`Reference` refuses URIs with a
user-info part (``scheme://user:secret@host``) or a query string.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from decentralml.errors import UsageError

DIGEST_BYTES = 32


class StorageType(enum.Enum):
    """Where an artifact is stored. Declaration order is the chain's SCALE index.

    The values are the chain's variant names (``StorageType::{IPFS, Crust, S3,
    GCP, Azure, Local}``); :attr:`index` is the variant's position.
    """

    IPFS = "IPFS"
    CRUST = "Crust"
    S3 = "S3"
    GCP = "GCP"
    AZURE = "Azure"
    LOCAL = "Local"

    @property
    def index(self) -> int:
        """The SCALE enum index of this variant on chain."""
        return list(StorageType).index(self)

    @classmethod
    def from_index(cls, index: int) -> StorageType:
        members = list(cls)
        if not 0 <= index < len(members):
            raise UsageError(f"Unknown storage type index {index}: expected 0..{len(members) - 1}.")
        return members[index]

    @classmethod
    def parse(cls, value: str | int | Mapping[str, Any] | StorageType) -> StorageType:
        """Accept a member, a chain variant name (any case), an index, or ``{"Local": None}``."""
        if isinstance(value, StorageType):
            return value
        if isinstance(value, int):
            return cls.from_index(value)
        if isinstance(value, Mapping) and len(value) == 1:
            return cls.parse(next(iter(value)))
        if isinstance(value, str):
            for member in cls:
                if value.lower() in (member.value.lower(), member.name.lower()):
                    return member
        names = ", ".join(m.value for m in cls)
        raise UsageError(f"Unknown storage type {value!r}: expected one of {names}.")


_SCHEMES = {"file": StorageType.LOCAL, "s3": StorageType.S3, "ipfs": StorageType.IPFS}


def storage_type_of_uri(uri: str) -> StorageType:
    """The storage type a URI's scheme implies (``file``, ``s3`` or ``ipfs``)."""
    scheme = urlsplit(uri).scheme.lower()
    if scheme not in _SCHEMES:
        raise UsageError(f"Unsupported artifact URI {uri!r}: expected file://, s3:// or ipfs://.")
    return _SCHEMES[scheme]


@dataclass(frozen=True)
class Reference:
    """A stored artifact: backend, URI, SHA-256 digest and (when known) size in bytes."""

    storage_type: StorageType
    uri: str
    digest: bytes
    size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.storage_type, StorageType):
            raise UsageError(f"Storage type must be a StorageType, not {self.storage_type!r}.")
        if not isinstance(self.digest, bytes) or len(self.digest) != DIGEST_BYTES:
            raise UsageError("An artifact digest must be 32 bytes (SHA-256).")
        if self.size is not None and (not isinstance(self.size, int) or self.size < 0):
            raise UsageError(f"An artifact size must be a non-negative integer, not {self.size!r}.")
        if not self.uri:
            raise UsageError("An artifact URI must not be empty.")
        parts = urlsplit(self.uri)
        if "@" in parts.netloc or parts.query or parts.password:
            raise UsageError("An artifact URI must not carry credentials or a query string.")
        if parts.scheme.lower() in _SCHEMES and _SCHEMES[parts.scheme.lower()] is not self.storage_type:
            raise UsageError(
                f"URI {self.uri!r} does not match storage type {self.storage_type.value}."
            )

    @property
    def digest_hex(self) -> str:
        """The digest as 64 lowercase hex digits, no prefix."""
        return self.digest.hex()

    @property
    def is_directory(self) -> bool:
        """True for a directory artifact (its URI ends with ``/``)."""
        return self.uri.endswith("/")

    # --- JSON (CLI output, files) ---------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"storage", "uri", "digest" (0x hex), "size"}``."""
        return {
            "storage": self.storage_type.value,
            "uri": self.uri,
            "digest": "0x" + self.digest_hex,
            "size": self.size,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> Reference:
        """Inverse of :meth:`to_json`; also accepts the JSON text."""
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                raise UsageError(f"Not a JSON artifact reference: {exc.msg}.") from None
        if not isinstance(data, Mapping):
            raise UsageError("An artifact reference must be a JSON object.")
        try:
            storage, uri, digest = data["storage"], data["uri"], data["digest"]
        except KeyError as exc:
            raise UsageError(f"Artifact reference lacks the field {exc.args[0]!r}.") from None
        size = data.get("size")
        return cls(StorageType.parse(storage), str(uri), parse_digest(digest), size)

    # --- chain (substrate-interface values of AssetRef) -----------------------

    def to_chain(self) -> dict[str, Any]:
        """The ``AssetRef`` value for substrate-interface: storage variant name,
        URI as ``0x``-hex of its UTF-8 bytes, digest as ``0x``-hex."""
        return {
            "storage": self.storage_type.value,
            "uri": "0x" + self.uri.encode("utf-8").hex(),
            "digest": "0x" + self.digest_hex,
        }

    @classmethod
    def from_chain(cls, value: Mapping[str, Any]) -> Reference:
        """Build from a decoded ``AssetRef`` (URI as text, ``0x``-hex or bytes). Size is unknown."""
        try:
            storage, uri, digest = value["storage"], value["uri"], value["digest"]
        except (KeyError, TypeError):
            raise UsageError("Not an AssetRef: expected storage, uri and digest.") from None
        return cls(StorageType.parse(storage), _uri_text(uri), parse_digest(digest), None)


def parse_digest(value: str | bytes | bytearray | list[int]) -> bytes:
    """A 32-byte digest from bytes, a byte list, or 64 hex digits (``0x`` optional)."""
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
    elif isinstance(value, list):
        raw = bytes(value)
    elif isinstance(value, str):
        text = value[2:] if value[:2].lower() == "0x" else value
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise UsageError(f"Not a hex digest: {value!r}.") from None
    else:
        raise UsageError(f"Not a digest: {value!r}.")
    if len(raw) != DIGEST_BYTES:
        raise UsageError(f"A digest must be 32 bytes (64 hex digits), got {len(raw)} bytes.")
    return raw


def _uri_text(value: str | bytes | bytearray | list[int]) -> str:
    if isinstance(value, (bytes, bytearray, list)):
        raw = bytes(value)
    elif isinstance(value, str) and value.startswith("0x"):
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError:
            return value
    else:
        return str(value)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("An artifact URI on chain is not valid UTF-8.") from None
