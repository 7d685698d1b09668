"""Deterministic directory packing: the same tree gives the same bytes everywhere.

A directory artifact is stored and hashed as a POSIX tar stream that we write
ourselves (not :mod:`tarfile`, whose output varies between Python versions):

* entries: every sub-directory (name ending in ``/``) and regular file under
  the root, the root itself excluded, sorted by the UTF-8 bytes of their
  relative path (so a directory precedes its contents);
* names: ``/``-separated, each component Unicode NFC-normalised; names that
  are not ASCII or longer than 99 bytes travel in a pax ``path`` record;
* metadata: mode 0644 (files) / 0755 (directories), uid/gid 0, empty
  user/group names, mtime 0; the execute bit is not kept;
* a pax ``size`` record for files of 8 GiB and more;
* the end: two zero blocks, no padding to a tar record.

Symbolic links, hard links, devices, FIFOs and sockets are refused, as are
names that are not valid UTF-8 or collide after NFC normalisation.

Unpacking accepts any tar of regular files and directories (so the Kubo
``get`` archive too) and refuses absolute names, ``..`` components, links and
special files.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from decentralml.errors import IntegrityError, UsageError
from decentralml.primitives.budget import Budget, ByteCounter, CountingReader, over_budget

BLOCK = 512
_CHUNK = 1 << 20
_USTAR_MAX_SIZE = 0o77777777777
_PAX_NAME = b"././@PaxHeader"


@dataclass(frozen=True)
class PackEntry:
    """One member of a pack: its archive name and, for a file, where it is read from."""

    name: str  # relative, "/"-separated, NFC; directories end with "/"
    source: Path
    is_dir: bool
    size: int


def list_entries(root: Path) -> list[PackEntry]:
    """The entries of ``root`` in pack order; refuses links and special files."""
    root = Path(root)
    if root.is_symlink() or not root.is_dir():
        raise UsageError(f"Cannot pack {str(root)!r}: not a directory.")
    entries: list[PackEntry] = []
    seen: dict[bytes, str] = {}
    _walk(root, "", entries, seen)
    entries.sort(key=lambda e: e.name.encode("utf-8"))
    return entries


def _walk(directory: Path, prefix: str, out: list[PackEntry], seen: dict[bytes, str]) -> None:
    with os.scandir(directory) as it:
        for item in it:
            name = _component(item.name, directory)
            rel = prefix + name
            st = item.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                rel += "/"
            elif not stat.S_ISREG(st.st_mode):
                kind = "symbolic link" if stat.S_ISLNK(st.st_mode) else "special file"
                raise UsageError(
                    f"Cannot pack {item.path!r}: it is a {kind}; artifacts hold only regular files and directories."
                )
            key = rel.encode("utf-8")
            if key in seen:
                raise UsageError(
                    f"Cannot pack {item.path!r}: its name equals {seen[key]!r} after Unicode normalisation."
                )
            seen[key] = item.path
            if stat.S_ISDIR(st.st_mode):
                out.append(PackEntry(rel, Path(item.path), True, 0))
                _walk(Path(item.path), rel, out, seen)
            else:
                out.append(PackEntry(rel, Path(item.path), False, st.st_size))


def _component(raw: str, where: Path) -> str:
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"Cannot pack a file in {str(where)!r}: its name is not valid UTF-8.") from None
    return unicodedata.normalize("NFC", raw)


# --- writing ---------------------------------------------------------------------


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _header(name: bytes, size: int, typeflag: bytes, mode: int) -> bytes:
    fields = [
        name.ljust(100, b"\0"),
        _octal(mode, 8),
        _octal(0, 8),  # uid
        _octal(0, 8),  # gid
        _octal(size, 12),
        _octal(0, 12),  # mtime
        b" " * 8,  # checksum, filled below
        typeflag,
        b"\0" * 100,  # linkname
        b"ustar\0", b"00",
        b"\0" * 32, b"\0" * 32,  # uname, gname
        _octal(0, 8), _octal(0, 8),  # devmajor, devminor
        b"\0" * 155,  # prefix
        b"\0" * 12,
    ]
    block = bytearray(b"".join(fields))
    assert len(block) == BLOCK
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def _pax_record(key: str, value: bytes) -> bytes:
    body = b" " + key.encode("ascii") + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length).encode()) + len(body) != length:
        length += 1
    return str(length).encode() + body


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def entry_headers(entry: PackEntry) -> bytes:
    """The header block(s) of one entry, pax header first when needed."""
    name = entry.name.encode("utf-8")
    size = 0 if entry.is_dir else entry.size
    records = b""
    field_name = name
    if len(name) > 99 or not name.isascii():
        records += _pax_record("path", name)
        field_name = bytes(b if 32 <= b < 127 else ord("_") for b in name)[:99]
    if size > _USTAR_MAX_SIZE:
        records += _pax_record("size", str(size).encode())
    out = b""
    if records:
        out += _header(_PAX_NAME, len(records), b"x", 0o644) + records + _padding(len(records))
    typeflag, mode = (b"5", 0o755) if entry.is_dir else (b"0", 0o644)
    out += _header(field_name, size if size <= _USTAR_MAX_SIZE else 0, typeflag, mode)
    return out


def iter_pack(root: Path, entries: list[PackEntry] | None = None) -> Iterator[bytes]:
    """The pack of ``root`` as a stream of byte chunks."""
    for entry in entries if entries is not None else list_entries(root):
        yield entry_headers(entry)
        if entry.is_dir:
            continue
        remaining = entry.size
        with open(entry.source, "rb") as fh:
            while remaining > 0:
                chunk = fh.read(min(_CHUNK, remaining))
                if not chunk:
                    raise UsageError(f"{str(entry.source)!r} shrank while it was being packed: try again.")
                remaining -= len(chunk)
                yield chunk
            if fh.read(1):
                raise UsageError(f"{str(entry.source)!r} grew while it was being packed: try again.")
        yield _padding(entry.size)
    yield b"\0" * (2 * BLOCK)


def pack_size(entries: list[PackEntry]) -> int:
    """The byte length of the pack of ``entries``, without reading any file."""
    total = 2 * BLOCK
    for entry in entries:
        total += len(entry_headers(entry))
        if not entry.is_dir:
            total += entry.size + len(_padding(entry.size))
    return total


def pack_to(root: Path, out: BinaryIO, advance: Callable[[int], None] | None = None) -> tuple[bytes, int]:
    """Write the pack of ``root`` to ``out``; return its SHA-256 and length."""
    digest, size = hashlib.sha256(), 0
    for chunk in iter_pack(root):
        digest.update(chunk)
        out.write(chunk)
        size += len(chunk)
        if advance is not None:
            advance(len(chunk))
    return digest.digest(), size


# --- reading ---------------------------------------------------------------------


class HashingReader:
    """A read-only file object that hashes and counts what passes through it."""

    def __init__(self, raw: BinaryIO, advance: Callable[[int], None] | None = None) -> None:
        self._raw = raw
        self._advance = advance
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self.sha256.update(data)
        self.size += len(data)
        if self._advance is not None and data:
            self._advance(len(data))
        return data

    def drain(self) -> None:
        """Read (and hash) whatever is left of the stream."""
        while self.read(_CHUNK):
            pass


def safe_member_path(name: str, dest: Path) -> Path:
    """Where a tar member named ``name`` lands under ``dest``; refuses escapes."""
    if "\\" in name and os.sep == "\\":
        raise IntegrityError(f"Refusing archive member {name!r}: backslash in a name.")
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or any(p in ("..", "") for p in parts):
        raise IntegrityError(f"Refusing archive member {name!r}: it points outside the artifact.")
    parts = tuple(p for p in parts if p != ".")
    if not parts:
        return dest
    return dest.joinpath(*parts)


def unpack(
    stream: BinaryIO, dest: Path, budget: Budget | None = None, *, what: str = "the artifact", root: str | None = None
) -> None:
    """Extract a tar stream of regular files and directories into the existing ``dest``, within ``budget``.

    Raises IntegrityError for links, sparse members, devices, FIFOs, absolute
    names, ``..``, duplicate members and any budget overrun (the stream itself,
    each file, the sum of the files, entries, name length and depth), counted
    as the bytes arrive; the caller removes ``dest`` on error. ``root`` names a
    directory the archive wraps the tree in (Kubo's ``get``): it is not counted.
    """
    dest = Path(dest)
    budget = budget or Budget()
    stream_counter = ByteCounter(what, budget.max_total_bytes)
    written = ByteCounter(what, budget.max_total_bytes)
    entries = 0
    try:
        with tarfile.open(fileobj=CountingReader(stream, stream_counter), mode="r|") as archive:  # type: ignore[call-overload]
            for member in archive:
                inner = member.name
                if root is not None:
                    inner = "" if member.name.rstrip("/") == root else member.name.removeprefix(root + "/")
                if inner:
                    entries += 1
                    if entries > budget.max_entries:
                        raise over_budget(what, f"it has more than {budget.max_entries} entries")
                    budget.check_name(what, inner)
                target = safe_member_path(member.name, dest)
                if member.isdir():
                    target.mkdir(mode=0o755, parents=True, exist_ok=True)
                    continue
                if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or member.issparse():
                    raise IntegrityError(
                        f"Refusing archive member {member.name!r}: only regular files and directories are allowed"
                        " (no links, sparse files, devices or FIFOs)."
                    )
                if member.size > budget.file_bytes:
                    raise over_budget(what, f"member {member.name!r} has {member.size} bytes, the budget is {budget.file_bytes} per file")
                if written.count + member.size > written.limit:
                    raise over_budget(what, f"its files add up to more than {written.limit} bytes")
                if target.exists() or target.is_symlink():
                    raise IntegrityError(f"Refusing archive member {member.name!r}: it appears twice.")
                target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                _ensure_inside(target.parent, dest)
                source = archive.extractfile(member)
                assert source is not None
                with open(target, "xb") as out:
                    while chunk := source.read(_CHUNK):
                        written.add(len(chunk))
                        out.write(chunk)
                os.chmod(target, 0o644)
    except (tarfile.TarError, ValueError, OverflowError, EOFError) as exc:  # tarfile raises more than TarError
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise IntegrityError(f"The artifact is not a valid directory pack: {detail}.") from None


def _ensure_inside(path: Path, root: Path) -> None:
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    if real != real_root and not real.startswith(real_root + os.sep):
        raise IntegrityError(f"Refusing to write through {str(path)!r}: it leads outside the artifact.")
