"""SHA-256 of artifacts: a file's bytes, or a directory's deterministic pack.

Every function returns ``(digest, size)``: the 32-byte SHA-256 and the number
of bytes hashed. This is the digest the storage layer records in an
``AssetRef``, lineage records carry (as lowercase hex) and the chain stores.
A directory is hashed as its pack (:mod:`decentralml.primitives.packing`), so
its digest is the same on every machine and for every backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from decentralml.errors import UsageError
from decentralml.primitives.packing import iter_pack, list_entries

CHUNK_SIZE = 1 << 20

Advance = Callable[[int], None]


def _hash_chunks(chunks: Iterable[bytes], advance: Advance | None) -> tuple[bytes, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        if advance is not None:
            advance(len(chunk))
    return digest.digest(), size


def file_digest(path: Path, advance: Advance | None = None) -> tuple[bytes, int]:
    """SHA-256 and size of a file's bytes, read in 1 MiB chunks; ``advance(n)`` after each.

    Raises :class:`~decentralml.errors.UsageError` when ``path`` is missing or a directory.
    """
    try:
        with Path(path).open("rb") as handle:
            return _hash_chunks(iter(lambda: handle.read(CHUNK_SIZE), b""), advance)
    except FileNotFoundError:
        raise UsageError(f"Cannot hash {path}: no such file.") from None
    except IsADirectoryError:
        raise UsageError(f"Cannot hash {path} as a file: it is a directory.") from None


def pack_digest(root: Path, advance: Advance | None = None, *, exclude: str | None = None) -> tuple[bytes, int]:
    """SHA-256 and byte length of the pack of directory ``root``, computed without writing the pack.

    ``exclude`` leaves out one top-level entry (file or directory, by name): the pack the
    directory had before that entry was added next to its contents.
    """
    if exclude is None:
        return _hash_chunks(iter_pack(root), advance)
    entries = [e for e in list_entries(root) if e.name.split("/", 1)[0] != exclude]
    return _hash_chunks(iter_pack(root, entries), advance)


def path_digest(path: Path, advance: Advance | None = None) -> tuple[bytes, int]:
    """The artifact digest of ``path``: :func:`pack_digest` for a directory, :func:`file_digest` otherwise."""
    path = Path(path)
    return pack_digest(path, advance) if path.is_dir() else file_digest(path, advance)
