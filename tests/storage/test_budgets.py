"""Budgets on every backend: an artifact over any limit is refused while it streams and leaves nothing.

Honest uploads fetched with a budget they exceed (total, per file, entries,
name length, depth), and hostile archives no honest client makes (GNU sparse
bombs, links, devices, FIFOs) pushed into the stores by other means. Each
ends with an IntegrityError naming the limit and the destination's parent
exactly as it was.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from decentralml.errors import IntegrityError
from decentralml.primitives.budget import Budget
from decentralml.primitives.digests import pack_digest
from decentralml.storage import Reference
from decentralml.storage.reference import StorageType
from tests.hostile import kit
from tests.storage.backends import Harness, IpfsHarness, LocalHarness, S3Harness


def _tree(root: Path, files: dict[str, int]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, size in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(os.urandom(size))
    return root


def _refused(backend: Harness, ref: Reference, budget: Budget, dest: Path, match: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    before = sorted(dest.parent.rglob("*"))
    with pytest.raises(IntegrityError, match=match):
        backend.store.get(ref, dest, budget=budget)
    assert sorted(dest.parent.rglob("*")) == before  # nothing partial, nothing hidden


BUDGET_CASES = {
    "file over the total": ({"": 4096}, Budget(max_total_bytes=4000), "4000"),
    "tree over the total": ({"a": 1500, "b/c": 1500, "d": 1500}, Budget(max_total_bytes=4000), "4000"),
    "one file over the per-file limit": ({"a": 100, "big": 3000}, Budget(max_file_bytes=2048), "2048 per file"),
    "too many entries": ({f"f{i}": 1 for i in range(20)}, Budget(max_entries=10), "more than 10 entries"),
    "a name too long": ({"n" * 200: 1}, Budget(max_path_bytes=100), "member name has"),
    "a tree too deep": ({"/".join("d" * 12) + "/f": 1}, Budget(max_depth=6), "levels deep"),
}


@pytest.mark.parametrize("case", sorted(BUDGET_CASES))
def test_over_budget_artifacts_are_refused(backend: Harness, tmp_path: Path, case: str) -> None:
    files, budget, match = BUDGET_CASES[case]
    if "" in files:
        source = tmp_path / "src.bin"
        source.write_bytes(os.urandom(files[""]))
    else:
        source = _tree(tmp_path / "src", files)
    ref = backend.store.put(source)
    _refused(backend, ref, budget, tmp_path / "out" / "artifact", match)
    fetched = backend.store.get(ref, tmp_path / "ok" / "artifact", budget=Budget())  # the default budget admits it
    assert fetched.exists()


def _raw_archive(backend: Harness, data: bytes, tmp_path: Path) -> Reference:
    """Put a hostile tar into the store as a directory artifact, as a dishonest uploader could."""
    if isinstance(backend, S3Harness):
        return kit.RawUpload(backend.server.client(), backend.bucket).put_bytes(data, directory=True)
    pytest.skip(f"{backend.name} stores trees, not tar streams: see test_links_in_stored_trees_are_refused")


def _member(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, b""


HOSTILE_ARCHIVES = {
    "GNU sparse bomb": lambda: kit.sparse_bomb(),
    "PAX sparse member": lambda: _pax_sparse(b"1\n0\n4\n".ljust(512, b"\0") + b"\0" * 4),
    "PAX sparse member with a broken map": lambda: _pax_sparse(b"\0" * 4),
    "symlink": lambda: kit.tar_of([_member("w", tarfile.SYMTYPE, "/etc/passwd")]),
    "hard link": lambda: kit.tar_of([kit.file_member("a", b"x"), _member("b", tarfile.LNKTYPE, "a")]),
    "character device": lambda: kit.tar_of([_member("tty", tarfile.CHRTYPE)]),
    "FIFO": lambda: kit.tar_of([_member("pipe", tarfile.FIFOTYPE)]),
    "path traversal": lambda: kit.tar_of([kit.file_member("../escape", b"x")]),
    "a member twice": lambda: kit.tar_of([kit.file_member("a", b"x"), kit.file_member("a", b"y")]),
}


def _pax_sparse(data: bytes) -> bytes:
    info = tarfile.TarInfo("weights.safetensors")
    info.size = len(data)
    info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.realsize": str(4 << 30),
                        "GNU.sparse.name": "weights.safetensors"}
    return kit.tar_of([(info, data)], fmt=tarfile.PAX_FORMAT)


@pytest.mark.parametrize("case", sorted(HOSTILE_ARCHIVES))
def test_hostile_archives_are_refused(backend: Harness, tmp_path: Path, case: str) -> None:
    ref = _raw_archive(backend, HOSTILE_ARCHIVES[case](), tmp_path)
    _refused(backend, ref, Budget(), tmp_path / "out" / "artifact", "Refusing|not a valid directory pack")


def test_links_in_stored_trees_are_refused(backend: Harness, tmp_path: Path) -> None:
    tree = _tree(tmp_path / "src", {"weights.safetensors": 10})
    if isinstance(backend, LocalHarness):
        ref = backend.store.put(tree)
        (backend.store.path_of(ref) / "link").symlink_to("/etc/passwd")  # someone with access to the shared store
        match = "damaged"
    elif isinstance(backend, IpfsHarness):
        (tree / "link").symlink_to("/etc/passwd")
        cid = backend.daemon.cli("add", "-r", "-Q", "--cid-version=1", str(tree)).stdout.decode().strip()
        digest, _ = pack_digest(_tree(tmp_path / "plain", {}))
        ref = Reference(StorageType.IPFS, f"ipfs://{cid}/", digest)
        match = "only regular files"
    else:
        ref = kit.RawUpload(backend.server.client(), backend.bucket).put_bytes(
            kit.tar_of([kit.file_member("w", b"x"), _member("link", tarfile.SYMTYPE, "/etc/passwd")]), directory=True)
        match = "only regular files"
    _refused(backend, ref, Budget(), tmp_path / "out" / "artifact", match)


def test_announced_sizes_are_checked_before_fetching(backend: Harness, tmp_path: Path) -> None:
    if isinstance(backend, LocalHarness):
        pytest.skip("the local store announces nothing: its reads are counted")
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(1 << 20))
    ref = backend.store.put(source)
    with pytest.raises(IntegrityError, match="announces"):
        backend.store.get(ref, tmp_path / "out" / "big.bin", budget=Budget(max_total_bytes=1 << 19))
    assert not (tmp_path / "out" / "big.bin").exists()
