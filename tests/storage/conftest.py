"""Shared data for the storage tests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

BIG_FILE_SIZE = 200 * 1000 * 1000


@pytest.fixture(scope="session")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A 200 MB file of random bytes (made once per session) and its SHA-256."""
    path = tmp_path_factory.mktemp("big") / "big.bin"
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        remaining = BIG_FILE_SIZE
        while remaining:
            chunk = os.urandom(min(remaining, 8 << 20))
            digest.update(chunk)
            out.write(chunk)
            remaining -= len(chunk)
    return path, digest.digest()
