"""Local artifact store: content-addressed files under a data directory.

Caller passes ``data_dir`` (e.g. the CLI's ``--data-dir``; the dev node and the
demo use it by default). Layout::

    <data_dir>/files/<sha256 hex>      a file artifact    file:///<data_dir>/files/<hex>
    <data_dir>/dirs/<sha256 hex>/      a directory tree   file:///<data_dir>/dirs/<hex>/

Objects are written to a temporary name in the same directory and renamed, so
a half-written object is never visible under its final name. Only URIs under
``data_dir`` are served.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from decentralml.errors import ArtifactNotFoundError, IntegrityError, StorageError, UsageError
from decentralml.primitives import packing
from decentralml.primitives.budget import Budget, ByteCounter, CountingReader
from decentralml.primitives.digests import pack_digest
from decentralml.primitives.localpaths import local_path_error
from decentralml.primitives.staging import remove_path, staged_path
from decentralml.storage.base import (
    ChunkReader,
    TransferObserver,
    check_get_dest,
    check_put_source,
    copy_stream,
    observer,
    verify,
)
from decentralml.storage.reference import Reference, StorageType


class LocalStore:
    """An :class:`~decentralml.storage.base.ArtifactStore` on the local file system."""

    storage_type = StorageType.LOCAL

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.files_dir = self.data_dir / "files"
        self.dirs_dir = self.data_dir / "dirs"

    def __repr__(self) -> str:
        return f"LocalStore({str(self.data_dir)!r})"

    def _prepare(self) -> None:
        try:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            self.dirs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # the store's directory on this machine: a local path (exit 3), not a store failure
            error = local_path_error(exc, self.data_dir)
            error.hint = f"{error.hint} Or pass another --data-dir."
            raise error from None

    # --- uri <-> path ----------------------------------------------------------

    def uri_for(self, digest: bytes, *, directory: bool) -> str:
        if directory:
            return "file://" + quote(str(self.dirs_dir / digest.hex())) + "/"
        return "file://" + quote(str(self.files_dir / digest.hex()))

    def path_of(self, ref: Reference) -> Path:
        """The local path a reference names; refuses anything outside the data directory."""
        if ref.storage_type is not StorageType.LOCAL:
            raise UsageError(f"{ref.uri} is a {ref.storage_type.value} reference, not a local one.")
        parts = urlsplit(ref.uri)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise UsageError(f"Not a local file URI: {ref.uri!r}.")
        path = Path(os.path.normpath(unquote(parts.path)))
        base = self.dirs_dir if ref.is_directory else self.files_dir
        if path.parent != base:
            raise UsageError(
                f"{ref.uri} is outside the data directory {str(self.data_dir)!r}.",
                hint="Pass the --data-dir the artifact was stored in.",
            )
        return path

    # --- the store interface ---------------------------------------------------

    @contextlib.contextmanager
    def _staging(self, tmp: Path, obs: TransferObserver) -> Iterator[None]:
        """Writing to the staging path ``tmp``: removed if the body fails (OS errors become a
        StorageError), and the progress phase ended either way."""
        try:
            yield
        except OSError as exc:
            remove_path(tmp)
            raise StorageError(f"Cannot write to {str(self.data_dir)!r}: {exc.strerror}.") from None
        except BaseException:
            remove_path(tmp)
            raise
        finally:
            obs.end()

    def put(self, path: Path, *, progress: TransferObserver | None = None) -> Reference:
        source = check_put_source(path)
        self._prepare()
        obs = observer(progress)
        if source.is_dir():
            return self._put_dir(source, obs)
        size = source.stat().st_size
        obs.begin(f"storing {source.name}", size)
        fd, name = tempfile.mkstemp(prefix=".incoming-", dir=self.files_dir)
        tmp = Path(name)
        with self._staging(tmp, obs):
            with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
                digest, size = copy_stream(src, dst, progress=obs)
            # Content-addressed: replacing an existing copy changes nothing unless that
            # copy was damaged, which this repairs.
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.files_dir / digest.hex())
        return Reference(StorageType.LOCAL, self.uri_for(digest, directory=False), digest, size)

    def _put_dir(self, source: Path, obs: TransferObserver) -> Reference:
        entries = packing.list_entries(source)
        total = packing.pack_size(entries)
        tmp = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.dirs_dir))
        with self._staging(tmp, obs):
            # Copy first, then hash the copy: the stored tree is what the digest covers.
            obs.begin(f"storing {source.name}/", sum(e.size for e in entries))
            for entry in entries:
                target = packing.safe_member_path(entry.name.rstrip("/"), tmp)
                if entry.is_dir:
                    target.mkdir(mode=0o755, exist_ok=True)
                else:
                    with open(entry.source, "rb") as src, open(target, "xb") as dst:
                        copy_stream(src, dst, progress=obs)
                    os.chmod(target, 0o644)
            obs.end()
            obs.begin(f"hashing {source.name}/", total)
            digest, size = pack_digest(tmp, obs.advance)
            final = self.dirs_dir / digest.hex()
            if final.exists():
                remove_path(tmp)
            else:
                os.chmod(tmp, 0o755)
                os.rename(tmp, final)
        return Reference(StorageType.LOCAL, self.uri_for(digest, directory=True), digest, size)

    def get(
        self, ref: Reference, dest: Path, *, progress: TransferObserver | None = None, budget: Budget | None = None
    ) -> Path:
        budget = budget or Budget()
        stored = self.path_of(ref)
        if not self._present(stored, ref):
            raise ArtifactNotFoundError(f"Artifact {ref.uri} is not in {str(self.data_dir)!r}.")
        dest = check_get_dest(dest)
        obs = observer(progress)
        obs.begin(f"fetching {stored.name}", ref.size)
        try:
            if ref.is_directory:
                with staged_path(dest, directory=True) as tmp:
                    # Stream the stored tree's pack through the unpacker: what lands is what was hashed.
                    reader = ChunkReader(packing.iter_pack(stored))
                    hashing = packing.HashingReader(reader, obs.advance)  # type: ignore[arg-type]
                    packing.unpack(hashing, tmp, budget, what=ref.uri)  # type: ignore[arg-type]
                    hashing.drain()
                    verify(ref, hashing.sha256.digest(), hashing.size)
            else:
                budget.check_announced(ref.uri, stored.stat().st_size)
                with staged_path(dest) as tmp:
                    with open(stored, "rb") as src, open(tmp, "wb") as dst:
                        counted = CountingReader(src, ByteCounter(ref.uri, budget.max_total_bytes))
                        digest, size = copy_stream(counted, dst, progress=obs)  # type: ignore[arg-type]
                    verify(ref, digest, size)
        except UsageError as exc:
            # The stored tree itself holds something a pack refuses (a link): it was tampered with.
            raise IntegrityError(f"Artifact {ref.uri} is damaged: {exc.message}") from None
        except OSError as exc:
            if exc.filename is not None and not Path(exc.filename).is_relative_to(self.data_dir):
                # the destination failed (read-only, full, a file in the way), not the store
                raise local_path_error(OSError(exc.errno, exc.strerror, str(dest))) from None
            raise StorageError(f"Cannot read {ref.uri}: {exc.strerror}.") from None
        finally:
            obs.end()
        return dest

    def exists(self, ref: Reference) -> bool:
        return self._present(self.path_of(ref), ref)

    def delete(self, ref: Reference) -> None:
        stored = self.path_of(ref)
        if self._present(stored, ref):
            remove_path(stored)

    @staticmethod
    def _present(stored: Path, ref: Reference) -> bool:
        if stored.is_symlink():
            return False
        return stored.is_dir() if ref.is_directory else stored.is_file()
