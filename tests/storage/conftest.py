"""Shared data for the storage tests."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.services import IpfsDaemon, S3Server
from tests.storage.backends import Harness, IpfsHarness, LocalHarness, S3Harness

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


BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("s3", id="s3", marks=pytest.mark.integration),
    pytest.param("ipfs", id="ipfs", marks=pytest.mark.integration),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "local":
        yield LocalHarness(tmp_path / "data")
    elif request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_env")
        yield S3Harness(server, server.new_bucket("contract"))
    else:
        daemon: IpfsDaemon = request.getfixturevalue("ipfs_daemon")
        yield IpfsHarness(daemon)
