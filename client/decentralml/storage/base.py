"""The artifact store interface every backend implements, and its shared helpers.

A store puts a local file or directory and returns a :class:`Reference`; it gets
a reference back to a local path only after the SHA-256 digest matched
(otherwise :class:`~decentralml.errors.IntegrityError`, and nothing is left at
the destination). Directories travel as their deterministic pack (see
:mod:`decentralml.primitives.packing`), so a directory's digest is the same on
every machine.

Transfers report progress to an optional :class:`TransferObserver` (see
:mod:`decentralml.storage.progress` for the rich one); ``advance`` may be
called from worker threads.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from decentralml.errors import IntegrityError, UsageError
from decentralml.primitives.budget import Budget
from decentralml.storage.reference import Reference, StorageType

CHUNK_SIZE = 1 << 20


class TransferObserver(Protocol):
    """Receives progress of one transfer at a time."""

    def begin(self, description: str, total: int | None) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def end(self) -> None: ...


class NullObserver:
    """Observes nothing: the default."""

    def begin(self, description: str, total: int | None) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def end(self) -> None:
        pass


@runtime_checkable
class ArtifactStore(Protocol):
    """What the use cases need from any backend."""

    storage_type: StorageType

    def put(self, path: Path, *, progress: TransferObserver | None = None) -> Reference:
        """Store a file or a directory; return its reference (digest and size included)."""
        ...

    def get(
        self, ref: Reference, dest: Path, *, progress: TransferObserver | None = None, budget: Budget | None = None
    ) -> Path:
        """Fetch ``ref`` to ``dest`` (created; must not exist) and return ``dest``.

        The digest is verified before ``dest`` appears; on mismatch
        IntegrityError is raised and the downloaded copy removed. ``budget``
        (default :class:`~decentralml.primitives.budget.Budget`) bounds what lands
        on disk; an overrun is an IntegrityError and nothing stays.
        """
        ...

    def exists(self, ref: Reference) -> bool:
        """True when the store holds the artifact (its content is not checked)."""
        ...

    def delete(self, ref: Reference) -> None:
        """Remove the artifact (IPFS: unpin it); a missing artifact is not an error."""
        ...


# --- helpers shared by the backends ---------------------------------------------


def observer(progress: TransferObserver | None) -> TransferObserver:
    return progress if progress is not None else NullObserver()


def check_put_source(path: Path) -> Path:
    """The source of a put must be an existing regular file or directory (no symlink)."""
    path = Path(path)
    if path.is_symlink() or not (path.is_file() or path.is_dir()):
        raise UsageError(f"Cannot store {str(path)!r}: not a regular file or directory.")
    return path


def check_get_dest(dest: Path) -> Path:
    """The destination of a get must not exist yet and its parent must be creatable."""
    dest = Path(dest)
    if dest.exists() or dest.is_symlink():
        raise UsageError(f"Destination {str(dest)!r} already exists: choose a new path or remove it.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest


def copy_stream(
    src: BinaryIO, dst: BinaryIO, sink: Callable[[bytes], None] | None = None,
    progress: TransferObserver | None = None,
) -> tuple[bytes, int]:
    """Copy ``src`` to ``dst`` while hashing; return (SHA-256, bytes copied)."""
    digest, size = hashlib.sha256(), 0
    while chunk := src.read(CHUNK_SIZE):
        digest.update(chunk)
        dst.write(chunk)
        size += len(chunk)
        if sink is not None:
            sink(chunk)
        if progress is not None:
            progress.advance(len(chunk))
    return digest.digest(), size


def verify(ref: Reference, digest: bytes, size: int | None = None) -> None:
    """Raise IntegrityError when a fetched artifact does not match its reference."""
    if digest != ref.digest:
        raise IntegrityError(
            f"Artifact {ref.uri} does not match its digest (expected 0x{ref.digest_hex}, "
            f"got 0x{digest.hex()}): it was not used.",
            hint="The stored copy is corrupt or was replaced; ask its publisher to upload it again.",
        )
    if ref.size is not None and size is not None and size != ref.size:
        raise IntegrityError(
            f"Artifact {ref.uri} has {size} bytes, its reference says {ref.size}: it was not used."
        )


class ChunkReader:
    """A minimal binary file object (``read(n)``) over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes], advance: Callable[[int], None] | None = None) -> None:
        self._chunks = chunks
        self._advance = advance
        self._current = b""
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        parts: list[bytes] = []
        wanted = n
        while wanted != 0:
            if self._pos >= len(self._current):
                try:
                    self._current, self._pos = next(self._chunks), 0
                except StopIteration:
                    break
                if self._advance is not None:
                    self._advance(len(self._current))
                continue
            end = len(self._current) if wanted < 0 else min(len(self._current), self._pos + wanted)
            parts.append(self._current[self._pos:end])
            if wanted > 0:
                wanted -= end - self._pos
            self._pos = end
        return b"".join(parts)

    def drain(self) -> None:
        """Consume whatever is left."""
        while self.read(CHUNK_SIZE):
            pass


# --- overlapping IO with hashing (hashlib, file and socket IO release the GIL) --------

_DONE = object()


def prefetch(chunks: Iterator[bytes], depth: int = 8) -> Iterator[bytes]:
    """Run ``chunks`` on a background thread, ``depth`` pieces ahead of the consumer.

    Used so that reading and hashing the source overlap with sending it.
    Exceptions of the source are re-raised in the consumer; when the consumer
    stops early the producer is told to stop.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        buffer.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(_DONE)
        except BaseException as exc:  # handed to the consumer
            buffer.put(exc)

    worker = threading.Thread(target=produce, name="storage-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)


class HashingFileWriter:
    """Writes chunks to a file while a background thread hashes and writes them,
    so that receiving overlaps with hashing and writing. ``finish`` returns the
    SHA-256 and size; errors of the writer thread surface in ``write``/``finish``."""

    def __init__(self, path: Path, depth: int = 8) -> None:
        self._file = open(path, "wb")
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._sha = hashlib.sha256()
        self._size = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="storage-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is not None:
                continue  # drain after a failure
            try:
                assert isinstance(item, bytes)
                self._sha.update(item)
                self._file.write(item)
                self._size += len(item)
            except BaseException as exc:
                self._error = exc

    def write(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(chunk)

    def finish(self) -> tuple[bytes, int]:
        self.close()
        if self._error is not None:
            raise self._error
        return self._sha.digest(), self._size

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()
        self._file.close()

    def __enter__(self) -> HashingFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
