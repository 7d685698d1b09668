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
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from decentralml.errors import UsageError

__all__ = ["NewOutputs", "check_new_outputs", "remove_path", "staged_path"]


@contextmanager
def staged_path(dest: Path, *, directory: bool = False) -> Iterator[Path]:
    """A temporary sibling of ``dest``; renamed onto ``dest`` when the block succeeds,
    removed when it raises. Keeps half-written or unverified copies invisible."""
    dest = Path(dest)
    prefix = f".{dest.name}.partial-"
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=dest.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=dest.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o755 if directory else 0o644)  # mkstemp/mkdtemp create private modes
        if directory:
            os.rename(tmp, dest)
        else:
            os.replace(tmp, dest)
    except BaseException:
        remove_path(tmp)
        raise


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
        what = "the output directory" if anchor == out_dir else f"a parent of {out_dir}"
        raise UsageError(f"{anchor} is not a directory, so it cannot be {what}.", hint="Pass a directory.")
    existing = [out_dir / name for name in names if _exists(out_dir / name)]
    if existing and not force:
        listed = ", ".join(str(path) for path in existing)
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

    def __init__(self, out_dir: Path, names: Sequence[str], *, force: bool = False, option: str | None = "--force") -> None:
        self.out_dir = Path(out_dir)
        self.names = tuple(names)
        self.force = force
        self.anchor = check_new_outputs(self.out_dir, self.names, force=force, option=option)

    @contextmanager
    def staged(self) -> Iterator[Path]:
        """A staging directory: write each entry as ``staging / name``; moved into ``out_dir`` when the block ends."""
        staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=self.anchor))
        os.chmod(staging, 0o755)
        try:
            yield staging
            missing = [name for name in self.names if not _exists(staging / name)]
            if missing:
                raise RuntimeError(f"the staged output lacks {', '.join(missing)}")
            self._commit(staging)
        finally:
            remove_path(staging)

    def _commit(self, staging: Path) -> None:
        created = self._make_out_dir()
        replaced = staging / ".replaced"
        done: list[tuple[Path, Path | None]] = []  # (entry now in place, what it replaced)
        try:
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
            for name in self.names:  # an old entry moved aside just before its rename failed
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

