"""Deterministic packing and safe unpacking (pure, no servers)."""

from __future__ import annotations

import io
import os
import tarfile
import unicodedata
from pathlib import Path

import pytest

from decentralml.errors import IntegrityError, UsageError
from decentralml.primitives import digests, packing
from tests.storage.trees import PINNED_TREE_DIGEST, PINNED_TREE_SIZE, make_pinned_tree, snapshot


def pack_bytes(root: Path) -> bytes:
    out = io.BytesIO()
    packing.pack_to(root, out)
    return out.getvalue()


def test_pinned_tree_digest(tmp_path: Path) -> None:
    digest, size = digests.pack_digest(make_pinned_tree(tmp_path / "t"))
    assert digest.hex() == PINNED_TREE_DIGEST
    assert size == PINNED_TREE_SIZE


def test_empty_directory_digest_is_pinned(tmp_path: Path) -> None:
    (tmp_path / "e").mkdir()
    digest, size = digests.pack_digest(tmp_path / "e")
    assert (digest.hex(), size) == ("5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef", 1024)


def test_metadata_does_not_change_the_digest(tmp_path: Path) -> None:
    a = make_pinned_tree(tmp_path / "a")
    b = make_pinned_tree(tmp_path / "b")
    for path in b.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    assert pack_bytes(a) == pack_bytes(b)


def test_content_and_names_change_the_digest(tmp_path: Path) -> None:
    a = make_pinned_tree(tmp_path / "a")
    base = digests.pack_digest(a)[0]
    (a / "README.md").write_bytes(b"# bundle!\n")
    assert digests.pack_digest(a)[0] != base
    (a / "README.md").write_bytes(b"# bundle\n")
    assert digests.pack_digest(a)[0] == base
    (a / "README.md").rename(a / "README.txt")
    assert digests.pack_digest(a)[0] != base


def test_decomposed_unicode_names_pack_like_composed_ones(tmp_path: Path) -> None:
    nfc, nfd = tmp_path / "nfc", tmp_path / "nfd"
    nfc.mkdir()
    nfd.mkdir()
    (nfc / unicodedata.normalize("NFC", "café.txt")).write_bytes(b"x")
    (nfd / unicodedata.normalize("NFD", "café.txt")).write_bytes(b"x")
    assert pack_bytes(nfc) == pack_bytes(nfd)


def test_names_colliding_after_normalisation_are_refused(tmp_path: Path) -> None:
    (tmp_path / unicodedata.normalize("NFC", "é")).write_bytes(b"1")
    (tmp_path / unicodedata.normalize("NFD", "é")).write_bytes(b"2")
    with pytest.raises(UsageError, match="normalisation"):
        packing.list_entries(tmp_path)


def test_pack_size_matches_the_stream(tmp_path: Path) -> None:
    root = make_pinned_tree(tmp_path / "t")
    assert packing.pack_size(packing.list_entries(root)) == len(pack_bytes(root))


def test_standard_tar_readers_see_the_tree(tmp_path: Path) -> None:
    root = make_pinned_tree(tmp_path / "t")
    with tarfile.open(fileobj=io.BytesIO(pack_bytes(root))) as archive:
        members = archive.getmembers()
        member = archive.getmember("données/échantillon-名前.csv")
        assert (member.mode, member.uid, member.mtime) == (0o644, 0, 0)
    names = [m.name + "/" if m.isdir() else m.name for m in members]
    assert "n" * 120 + ".txt" in names
    assert names == sorted(names, key=lambda n: n.encode())


def test_unpack_round_trip(tmp_path: Path) -> None:
    root = make_pinned_tree(tmp_path / "t")
    dest = tmp_path / "out"
    dest.mkdir()
    packing.unpack(io.BytesIO(pack_bytes(root)), dest)
    assert snapshot(dest) == snapshot(root)


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_links_and_special_files_are_refused(tmp_path: Path, kind: str) -> None:
    (tmp_path / "ok").write_bytes(b"ok")
    if kind == "symlink":
        (tmp_path / "link").symlink_to("/etc/passwd")
    else:
        os.mkfifo(tmp_path / "fifo")
    with pytest.raises(UsageError, match="regular files and directories"):
        packing.list_entries(tmp_path)


def _tar_with(member: tarfile.TarInfo, data: bytes = b"") -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(member, io.BytesIO(data) if data else None)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/evil", "a/../../escape", "ok/../../x"])
def test_unpack_refuses_path_traversal(tmp_path: Path, name: str) -> None:
    member = tarfile.TarInfo(name)
    member.size = 4
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(IntegrityError, match="outside"):
        packing.unpack(_tar_with(member, b"evil"), dest)
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize(
    "kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE, tarfile.CONTTYPE]
)
def test_unpack_refuses_links_and_devices(tmp_path: Path, kind: bytes) -> None:
    member = tarfile.TarInfo("innocent")
    member.type = kind
    member.linkname = "/etc/passwd"
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(IntegrityError, match="only regular files and directories"):
        packing.unpack(_tar_with(member), dest)
    assert list(dest.iterdir()) == []


def test_unpack_refuses_writing_through_a_planted_directory_link(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (dest / "sub").symlink_to(outside)  # as if an earlier member had planted it
    member = tarfile.TarInfo("sub/file")
    member.size = 1
    with pytest.raises(IntegrityError, match="leads outside the artifact"):
        packing.unpack(_tar_with(member, b"x"), dest)
    assert list(outside.iterdir()) == []


def test_unpack_rejects_garbage(tmp_path: Path) -> None:
    with pytest.raises(IntegrityError, match="not a valid directory pack"):
        packing.unpack(io.BytesIO(b"this is not a tar archive" * 40), tmp_path)
