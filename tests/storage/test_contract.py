"""One contract for every artifact store, run against local, S3 (MinIO) and IPFS (Kubo)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from decentralml.errors import (
    ArtifactNotFoundError,
    IntegrityError,
    StorageError,
    UsageError,
)
from decentralml.primitives.digests import pack_digest
from decentralml.storage.reference import Reference
from tests.storage.backends import Harness, LocalHarness, S3Harness
from tests.storage.trees import PINNED_TREE_DIGEST, PINNED_TREE_SIZE, make_pinned_tree, snapshot


class Interrupted(Exception):
    """Raised by the test's observer to cut a transfer short."""


class FailAfter:
    """A progress observer that interrupts a transfer after ``limit`` bytes of one phase.

    Phases announced as "hashing ..." are let through: the S3 store hashes a file
    before uploading it (the key is the digest), and the point is to cut the
    transfer itself.
    """

    def __init__(self, limit: int) -> None:
        self.limit, self.seen, self.armed, self.phases = limit, 0, True, []  # type: ignore[var-annotated]

    def begin(self, description: str, total: int | None) -> None:
        self.phases.append(description)
        self.seen, self.armed = 0, not description.startswith("hashing")

    def advance(self, nbytes: int) -> None:
        self.seen += nbytes
        if self.armed and self.seen > self.limit:
            raise Interrupted(f"interrupted by the test after {self.seen} bytes")

    def end(self) -> None:
        pass


class Recorder:
    def __init__(self) -> None:
        self.began: list[tuple[str, int | None]] = []
        self.total = 0
        self.ended = 0

    def begin(self, description: str, total: int | None) -> None:
        self.began.append((description, total))

    def advance(self, nbytes: int) -> None:
        self.total += nbytes

    def end(self) -> None:
        self.ended += 1


def sha256(path: Path) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.digest()


def no_partials(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if ".partial-" in p.name or p.name.startswith(".decentralml-")]


# --- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"hello\n", os.urandom(3 << 20)], ids=["empty", "small", "3MiB"])
def test_file_round_trip(backend: Harness, tmp_path: Path, content: bytes) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(content)
    ref = backend.store.put(source)
    assert ref.digest == hashlib.sha256(content).digest()
    assert ref.size == len(content)
    assert not ref.is_directory
    assert backend.store.exists(ref)
    out = backend.store.get(ref, tmp_path / "out" / "weights.bin")
    assert out.read_bytes() == content
    assert no_partials(out.parent) == []


def test_put_is_idempotent(backend: Harness, tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_bytes(b"same bytes")
    assert backend.store.put(source) == backend.store.put(source)


def test_directory_round_trip_with_pinned_digest(backend: Harness, tmp_path: Path) -> None:
    tree = make_pinned_tree(tmp_path / "bundle")
    ref = backend.store.put(tree)
    assert ref.is_directory
    assert ref.digest.hex() == PINNED_TREE_DIGEST  # the same on every machine and every backend
    assert ref.size == PINNED_TREE_SIZE
    out = backend.store.get(ref, tmp_path / "fetched")
    assert snapshot(out) == snapshot(tree)
    assert pack_digest(out)[0] == ref.digest


def test_empty_directory_round_trip(backend: Harness, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    ref = backend.store.put(empty)
    out = backend.store.get(ref, tmp_path / "fetched")
    assert out.is_dir() and list(out.iterdir()) == []


def test_reference_survives_the_chain_encoding(backend: Harness, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"through the chain")
    ref = backend.store.put(source)
    from_chain = Reference.from_chain(
        {"storage": ref.storage_type.value, "uri": ref.to_chain()["uri"], "digest": ref.to_chain()["digest"]}
    )
    assert from_chain.size is None
    assert backend.store.get(from_chain, tmp_path / "out").read_bytes() == b"through the chain"


def test_progress_is_reported(backend: Harness, tmp_path: Path) -> None:
    source = tmp_path / "blob"
    source.write_bytes(os.urandom(1 << 20))
    recorder = Recorder()
    ref = backend.store.put(source, progress=recorder)
    backend.store.get(ref, tmp_path / "out", progress=recorder)
    assert recorder.began and recorder.ended >= 1
    assert recorder.total >= 2 * (1 << 20)


@pytest.mark.slow
def test_200_mb_file_round_trip(backend: Harness, big_file: tuple[Path, bytes], tmp_path: Path) -> None:
    path, digest = big_file
    ref = backend.store.put(path)
    assert ref.digest == digest and ref.size == path.stat().st_size
    out = backend.store.get(ref, tmp_path / "big.out")
    assert sha256(out) == digest


# --- failures ------------------------------------------------------------------------


def test_tampered_file_is_refused(backend: Harness, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(os.urandom(4096))
    ref = backend.tamper(backend.store.put(source))
    dest = tmp_path / "out" / "model.bin"
    with pytest.raises(IntegrityError, match="does not match its digest"):
        backend.store.get(ref, dest)
    assert not dest.exists()
    assert os.listdir(dest.parent) == []


def test_tampered_directory_is_refused(backend: Harness, tmp_path: Path) -> None:
    ref = backend.tamper(backend.store.put(make_pinned_tree(tmp_path / "bundle")))
    dest = tmp_path / "out" / "bundle"
    with pytest.raises(IntegrityError, match="does not match its digest"):
        backend.store.get(ref, dest)
    assert not dest.exists()
    assert os.listdir(dest.parent) == []


@pytest.mark.parametrize("directory", [False, True], ids=["file", "dir"])
def test_missing_object(backend: Harness, tmp_path: Path, directory: bool) -> None:
    ref = backend.missing(directory)
    assert not backend.store.exists(ref)
    dest = tmp_path / "out" / "x"
    with pytest.raises(ArtifactNotFoundError, match="does not exist|is not in|IPFS has no"):
        backend.store.get(ref, dest)
    assert not dest.exists()


def test_wrong_location(backend: Harness, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"somewhere")
    expectation = backend.wrong_location(backend.store.put(source))
    if expectation is None:
        pytest.skip(f"{backend.name}: content is addressed by CID alone; there is no location to get wrong")
    with pytest.raises(expectation.error, match="does not exist|is outside") as info:
        expectation.store.get(expectation.ref, tmp_path / "out")
    assert "\n" not in info.value.one_line()
    assert not (tmp_path / "out").exists()


def test_put_into_missing_bucket(backend: Harness, tmp_path: Path) -> None:
    if not isinstance(backend, S3Harness):
        pytest.skip("only S3 stores put into a named bucket")
    from dataclasses import replace

    from decentralml.storage import open_store

    store = open_store("s3", replace(backend.settings, s3_bucket="no-such-bucket-" + os.urandom(4).hex()))
    source = tmp_path / "f"
    source.write_bytes(b"x")
    with pytest.raises(StorageError, match="does not exist"):
        store.put(source)


def test_bad_credentials(backend: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"secret work")
    ref = backend.store.put(source)
    expectation = backend.bad_credentials()
    if expectation is None:
        pytest.skip(f"{backend.name}: no credentials to get wrong on this server")
    if isinstance(backend, S3Harness):
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-" + os.urandom(4).hex())
        from decentralml.storage import open_store

        expectation.store = open_store("s3", backend.settings)
    with pytest.raises(expectation.error, match="refused the credentials") as put_info:
        expectation.store.put(source)
    with pytest.raises(expectation.error, match="refused the credentials"):
        expectation.store.get(ref, tmp_path / "out")
    message = put_info.value.one_line()
    assert "\n" not in message and "not-the-secret" not in message and "0" * 32 not in message
    assert not (tmp_path / "out").exists()


def test_unreachable_endpoint(backend: Harness, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"nobody home")
    ref = backend.store.put(source)
    expectation = backend.unreachable()
    with pytest.raises(expectation.error, match="Not a directory|answers at") as info:
        expectation.store.put(source)
    assert "\n" not in info.value.one_line()
    if not isinstance(backend, LocalHarness):
        with pytest.raises(expectation.error, match="answers at"):
            expectation.store.get(ref, tmp_path / "out")
        assert not (tmp_path / "out").exists()


def test_interrupted_put_leaves_nothing(backend: Harness, tmp_path: Path) -> None:
    before = backend.leftovers()
    source = tmp_path / "large.bin"
    source.write_bytes(os.urandom(40 << 20))  # above the S3 multipart threshold
    with pytest.raises(Interrupted, match="interrupted by the test"):
        backend.store.put(source, progress=FailAfter(20 << 20))
    after = backend.leftovers()
    assert after - before == set()


def test_interrupted_get_leaves_nothing(backend: Harness, tmp_path: Path) -> None:
    source = tmp_path / "large.bin"
    source.write_bytes(os.urandom(8 << 20))
    ref = backend.store.put(source)
    dest = tmp_path / "out" / "large.bin"
    with pytest.raises(Interrupted, match="interrupted by the test"):
        backend.store.get(ref, dest, progress=FailAfter(2 << 20))
    assert not dest.exists()
    assert os.listdir(dest.parent) == []


def test_get_refuses_an_existing_destination(backend: Harness, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    ref = backend.store.put(source)
    with pytest.raises(UsageError, match="already exists"):
        backend.store.get(ref, source)
    assert source.read_bytes() == b"x"


def test_put_refuses_symlinks(backend: Harness, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "ok.txt").write_text("ok")
    (tree / "link").symlink_to("/etc/hostname")
    with pytest.raises(UsageError, match="symbolic link"):
        backend.store.put(tree)


def test_delete(backend: Harness, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"to be removed " + os.urandom(8))
    ref = backend.store.put(source)
    backend.store.delete(ref)
    assert not backend.store.exists(ref)
    backend.store.delete(ref)  # a second delete is not an error
