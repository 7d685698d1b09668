"""Hashing helpers for lineage: bytes, parameter mappings and named arrays.

All digests are SHA-256, returned as lowercase hex (the form lineage records
carry); files and directories are hashed by :mod:`decentralml.primitives.digests`.
Arrays are hashed with their names, dtypes and shapes so that two different
tensors with equal raw bytes never collide.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

from decentralml.lineage.record import canonical_json


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


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
