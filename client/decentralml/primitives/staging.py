"""Writing files all or nothing: a half-written output is never visible, an existing one never lost.

* :func:`staged_path` - one file or directory, written into a temporary sibling
  and renamed onto its destination when the block succeeds;
* :class:`NewOutputs` - several entries of one output directory (a bundle and
  its base model, data shards), checked before anything is computed (the
  directory must be one, an entry that exists needs ``force``), written into a
  staging directory on the same file system, then renamed into place together:
  if a rename fails the ones done are undone and the entries they replaced
  restored; if the block raises, nothing in the output directory changed.

Renames within one file system are atomic (POSIX ``rename(2)``); the staging
directory is created in the output directory, or in its nearest existing
ancestor when the output directory does not exist yet, so it is on the same
file system as the entries it becomes.

Each staging entry is named after its target and held under ``flock(2)`` while in use: a
run killed mid-write (``kill -9``) leaves it behind, and the next run for the same target
removes it (unlocked and unchanged for a minute); other targets' entries are never touched.

A local file-system failure (a read-only directory, a parent that is a regular
file, a name too long) creating or renaming these paths is a
:class:`~decentralml.errors.LocalPathError` naming the destination.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from decentralml.errors import UsageError
from decentralml.primitives.localpaths import local_paths
from decentralml.untrusted import CLIP_LENGTH, clip

__all__ = ["NewOutputs", "check_new_outputs", "remove_path", "remove_stale_staging", "staged_path"]


@contextmanager
def staged_path(dest: Path, *, directory: bool = False) -> Iterator[Path]:
    """A temporary sibling of ``dest``; renamed onto ``dest`` when the block succeeds,
    removed when it raises. Keeps half-written or unverified copies invisible."""
    dest = Path(dest)
    with _locked_staging(dest.parent, f".{dest.name}.partial-", directory=directory, path=dest) as tmp:
        try:
            yield tmp
            with local_paths(dest):
                os.chmod(tmp, 0o755 if directory else 0o644)  # mkstemp/mkdtemp create private modes
                if directory:
                    os.rename(tmp, dest)
                else:
                    os.replace(tmp, dest)
        except BaseException:
            remove_path(tmp)
            raise


#: A staging entry unlocked for this long (seconds since its last change) is a leftover of a killed run.
STALE_AFTER_SECONDS = 60.0


@contextmanager
def _locked_staging(parent: Path, prefix: str, *, directory: bool, path: Path) -> Iterator[Path]:
    """A new staging entry ``parent/prefix<random>``, held under an exclusive ``flock(2)`` while the block runs
    (a file-system failure creating it is a LocalPathError naming ``path``, the target).

    First removes this target's leftovers: entries of ``parent`` named ``prefix<random>`` that no
    process holds locked (the lock goes with the process, even on ``kill -9``) and that have not
    changed for :data:`STALE_AFTER_SECONDS` (so an entry just created, before its creator locks
    it, is never taken for one). ``prefix`` names the target, so other targets' entries are kept.
    """
    with local_paths(path):  # errors of the block itself are the caller's to name
        remove_stale_staging(parent, prefix)
        if directory:
            tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
            fd = os.open(tmp, os.O_RDONLY)
        else:
            fd, name = tempfile.mkstemp(prefix=prefix, dir=parent)
            tmp = Path(name)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield tmp
    finally:
        os.close(fd)


def remove_stale_staging(parent: Path, prefix: str, *, now: float | None = None) -> list[Path]:
    """Remove the unlocked staging entries ``parent/prefix*`` older than :data:`STALE_AFTER_SECONDS`; the ones removed."""
    removed: list[Path] = []
    now = time.time() if now is None else now
    try:
        candidates = [entry for entry in os.scandir(parent) if entry.name.startswith(prefix)]
    except OSError:
        return removed
    for entry in candidates:
        path = Path(entry.path)
        try:
            if entry.is_symlink() or now - entry.stat(follow_symlinks=False).st_mtime < STALE_AFTER_SECONDS:
                continue
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live run holds it
        else:
            remove_path(path)
            removed.append(path)
        finally:
            os.close(fd)
    return removed


def remove_path(path: Path) -> None:
    """Remove a file or a directory tree if it exists."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def check_new_outputs(out_dir: Path, names: Sequence[str], *, force: bool = False, option: str | None = "--force") -> Path:
    """UsageError unless ``out_dir`` (or its nearest existing ancestor) is a directory and no entry of
    ``names`` exists there (unless ``force``); returns that nearest existing directory. ``option``:
    the flag that allows replacing, named in the hint (None: the command has none)."""
    out_dir = Path(out_dir)
    anchor = out_dir
    while not _exists(anchor) and anchor != anchor.parent:
        anchor = anchor.parent
    if not anchor.is_dir():
        what = "the output directory" if anchor == out_dir else f"a parent of {clip(out_dir)}"
        raise UsageError(f"{clip(anchor)} is not a directory, so it cannot be {what}.", hint="Pass a directory.")
    existing = [out_dir / name for name in names if _exists(out_dir / name)]
    if existing and not force:
        listed = clip(", ".join(str(path) for path in existing), 4 * CLIP_LENGTH)
        replace = f", or pass {option} to replace {'it' if len(existing) == 1 else 'them'}" if option else ""
        raise UsageError(
            f"{listed} already {'exists' if len(existing) == 1 else 'exist'}.", hint=f"Choose another path{replace}."
        )
    return anchor


class NewOutputs:
    """The entries ``names`` of ``out_dir``, to be written all or nothing (see the module docstring).

    Building one checks, before anything is written or computed: ``out_dir`` (or its
    nearest existing ancestor) is a directory, and no entry exists unless ``force``
    (then it is replaced, and kept until the new entries are all in place). Raises
    UsageError naming the path; ``option`` is the flag that allows replacing.
    """

    def __init__(self, out_dir: Path, names: Sequence[str], *, force: bool = False, option: str | None = "--force",
                 family: re.Pattern[str] | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.names = tuple(names)
        self.force = force
        with local_paths(self.out_dir):
            # the entries of an earlier output set this one replaces as a whole (participant3.csv of a
            # 3-shard run when this one writes 2): existing ones need force, and are removed with it
            self.former = tuple(sorted(
                entry.name for entry in (os.scandir(self.out_dir) if family is not None and self.out_dir.is_dir() else ())
                if family is not None and family.fullmatch(entry.name) and entry.name not in self.names
            ))
            self.anchor = check_new_outputs(self.out_dir, (*self.names, *self.former), force=force, option=option)

    @property
    def staging_prefix(self) -> str:
        """The name prefix of this target's staging directories in :attr:`anchor`: a digest of the output
        directory's absolute path, so a later run finds (and removes) its own killed run's leftovers only."""
        digest = hashlib.sha256(os.fsencode(os.path.abspath(self.out_dir))).hexdigest()[:16]
        return f".partial-{digest}-"

    @contextmanager
    def staged(self) -> Iterator[Path]:
        """A staging directory: write each entry as ``staging / name``; moved into ``out_dir`` when the block ends."""
        with _locked_staging(self.anchor, self.staging_prefix, directory=True, path=self.out_dir) as staging:
            try:
                with local_paths(self.out_dir):
                    os.chmod(staging, 0o755)
                yield staging
                missing = [name for name in self.names if not _exists(staging / name)]
                if missing:
                    raise RuntimeError(f"the staged output lacks {', '.join(missing)}")
                with local_paths(self.out_dir):
                    self._commit(staging)
            finally:
                remove_path(staging)

    def _commit(self, staging: Path) -> None:
        created = self._make_out_dir()
        replaced = staging / ".replaced"
        done: list[tuple[Path, Path | None]] = []  # (entry now in place, what it replaced)
        try:
            for name in self.former:  # moved aside: deleted with the staging directory once all is in place
                replaced.mkdir(exist_ok=True)
                os.rename(self.out_dir / name, replaced / name)
            for name in self.names:
                target = self.out_dir / name
                old = None
                if _exists(target):
                    replaced.mkdir(exist_ok=True)
                    old = replaced / name
                    os.rename(target, old)
                os.rename(staging / name, target)
                done.append((target, old))
        except BaseException:
            for target, old in reversed(done):
                remove_path(target)
                if old is not None:
                    os.rename(old, target)
            for name in (*self.names, *self.former):  # an old entry moved aside just before a rename failed
                if _exists(replaced / name) and not _exists(self.out_dir / name):
                    os.rename(replaced / name, self.out_dir / name)
            for directory in created:
                with contextlib.suppress(OSError):
                    directory.rmdir()
            raise

    def _make_out_dir(self) -> list[Path]:
        """Create ``out_dir`` and its missing parents; the ones created, deepest first."""
        missing = []
        path = self.out_dir
        while not _exists(path):
            missing.append(path)
            path = path.parent
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return missing

