"""Choosing and opening a store from what the caller (the CLI) was given.

The CLI builds a :class:`StoreSettings` from its options (``--storage``,
``--data-dir``, ``--s3-endpoint-url``, ``--s3-bucket``, ``--s3-prefix``,
``--ipfs-api`` ...) when the command runs, then calls :func:`open_store` to
publish, or :func:`store_for` to fetch a reference read from the chain.
Nothing here reads the environment; S3 credentials come from boto3's standard
chain (environment, shared files, profile, instance role) when a request is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from decentralml.errors import ConfigError, UsageError
from decentralml.storage.base import ArtifactStore
from decentralml.storage.reference import Reference, StorageType

KINDS = ("local", "s3", "ipfs")


@dataclass(frozen=True)
class StoreSettings:
    """Everything a backend needs; unused fields are ignored by the others.

    * local: ``data_dir``
    * s3: ``s3_bucket`` (for puts), ``s3_prefix``, ``s3_endpoint_url`` (MinIO and
      other S3-compatible services; ``None`` for AWS), ``s3_region``, ``s3_profile``
      (a named profile of the shared AWS files; ``None``: the default chain)
    * ipfs: ``ipfs_api`` (Kubo RPC API, e.g. ``http://127.0.0.1:5001``), ``ipfs_auth``
      (the daemon's ``API.Authorizations`` secret, ``bearer:<token>`` or
      ``basic:<user>:<password>``; ``None`` when the API is open)
    * all: ``timeout`` seconds per network operation
    """

    data_dir: Path | None = None
    s3_bucket: str | None = None
    s3_prefix: str = "decentralml"
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_profile: str | None = None
    ipfs_api: str = "http://127.0.0.1:5001"
    ipfs_auth: str | None = field(default=None, repr=False)  # a secret: never shown
    timeout: float = 60.0


def open_store(kind: str | StorageType, settings: StoreSettings) -> ArtifactStore:
    """Open the store named by ``kind``: ``local``, ``s3``, ``ipfs`` (or a StorageType),
    or a location URI: ``file:///data/dir`` or ``s3://bucket/prefix``."""
    if isinstance(kind, StorageType):
        kind = {StorageType.LOCAL: "local", StorageType.S3: "s3", StorageType.IPFS: "ipfs"}.get(kind, kind.value)
    text = str(kind).strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme == "file":
            settings = replace(settings, data_dir=Path(unquote(parts.path)))
            text = "local"
        elif parts.scheme == "s3":
            if not parts.netloc:
                raise UsageError(f"{text!r} names no bucket: use s3://bucket/prefix.")
            settings = replace(settings, s3_bucket=parts.netloc, s3_prefix=parts.path.strip("/"))
            text = "s3"
        else:
            raise UsageError(f"Unsupported storage location {text!r}: use file://..., s3://... or local|s3|ipfs.")
    text = text.lower()
    if text == "local":
        if settings.data_dir is None:
            raise ConfigError("The local store needs a data directory: pass --data-dir.")
        from decentralml.storage.local import LocalStore

        return LocalStore(settings.data_dir)
    if text == "s3":
        from decentralml.storage.s3 import S3Store

        return S3Store(
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            profile=settings.s3_profile,
            timeout=settings.timeout,
        )
    if text == "ipfs":
        from decentralml.storage.ipfs import IpfsStore

        return IpfsStore(settings.ipfs_api, auth=settings.ipfs_auth, timeout=settings.timeout)
    raise UsageError(f"Unknown storage {kind!r}: choose one of {', '.join(KINDS)}.")


def store_for(ref: Reference, settings: StoreSettings) -> ArtifactStore:
    """The store that can fetch ``ref`` (S3 references carry their own bucket)."""
    if ref.storage_type not in (StorageType.LOCAL, StorageType.S3, StorageType.IPFS):
        raise UsageError(
            f"Artifacts on {ref.storage_type.value} are not supported by this client: "
            "use local, S3 or IPFS storage."
        )
    return open_store(ref.storage_type, settings)
