"""Hashing helpers for lineage: bytes, files, parameter mappings and named arrays.

All digests are SHA-256, returned as lowercase hex (the form lineage records
carry). Arrays are hashed with their names, dtypes and shapes so that two
different tensors with equal raw bytes never collide.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping

from decentralml.errors import UsageError
from decentralml.lineage.record import canonical_json

_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
    except FileNotFoundError as exc:
        raise UsageError(f"Cannot hash {path}: no such file.") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"Cannot hash {path} as a file: it is a directory.") from exc
    return digest.hexdigest()


def digest_path(path: Path) -> str:
    """Hex storage digest of an artifact: SHA-256 of a file's bytes, or of a directory's deterministic pack.

    This is the digest the storage layer puts in an ``AssetRef``, so a
    record's ``output_hash`` can be compared with the on-chain result digest.
    """
    path = Path(path)
    if path.is_dir():
        from decentralml.storage.packing import pack_digest

        return pack_digest(path)[0].hex()
    return sha256_file(path)


def sha256_params(params: Mapping[str, Any]) -> str:
    """Hex SHA-256 of a parameter mapping in canonical JSON (integers and strings only)."""
    return sha256_bytes(canonical_json(dict(params)))


def sha256_arrays(arrays: Mapping[str, Any]) -> str:
    """Hex SHA-256 over named NumPy arrays (or tensors convertible with ``numpy()``), order-independent."""
    import numpy as np

    digest = hashlib.sha256()
    for name in sorted(arrays):
        value = arrays[name]
        array = np.ascontiguousarray(value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value))
        header = canonical_json({"name": name, "dtype": array.dtype.str, "shape": list(array.shape)})
        digest.update(len(header).to_bytes(8, "big") + header)
        body = array.tobytes()
        digest.update(len(body).to_bytes(8, "big") + body)
    return digest.hexdigest()
