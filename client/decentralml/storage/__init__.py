"""Artifact storage: local, S3 and IPFS behind one small interface.

    from decentralml.storage import StoreSettings, open_store, store_for
    store = open_store("local", StoreSettings(data_dir=Path("~/.local/share/decentralml")))
    ref = store.put(Path("bundle/"))          # Reference(storage_type, uri, digest, size)
    store_for(ref, settings).get(ref, Path("out/bundle"))   # digest verified first

Errors raised: UsageError (bad paths or references), ConfigError (missing
settings), StorageError and its subclasses StorageUnreachableError,
ArtifactNotFoundError, StorageAuthError, and IntegrityError when content does
not match its digest. See the module docstrings of each backend for what a
caller passes.
"""

from decentralml.storage.base import ArtifactStore, NullObserver, TransferObserver
from decentralml.storage.factory import KINDS, StoreSettings, open_store, store_for
from decentralml.storage.reference import Reference, StorageType, parse_digest, storage_type_of_uri

__all__ = [
    "KINDS",
    "ArtifactStore",
    "NullObserver",
    "Reference",
    "StorageType",
    "StoreSettings",
    "TransferObserver",
    "open_store",
    "parse_digest",
    "storage_type_of_uri",
    "store_for",
]
