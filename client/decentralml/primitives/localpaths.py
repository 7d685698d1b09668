"""Local paths given by the user: the empty string refused, file-system failures as one line.

* :func:`check_path_text` - ``''`` is not a path (``Path("")`` is the current
  directory, so an empty argument would silently mean "here");
* :func:`local_path_error` - an ``OSError`` met creating, writing or reading a
  local path (a component that is a regular file, a read-only file system, a
  name too long, a directory where a file goes, ...) as a
  :class:`~decentralml.errors.LocalPathError` (exit 3): which path, what is
  wrong (the system's ``strerror``) and what to do;
* :func:`local_paths` - a block whose ``OSError`` becomes that error.

Paths in messages are clipped (:func:`decentralml.untrusted.clip`): a 100 KB
name is not echoed in full.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from decentralml.errors import DecentralMLError, LocalPathError, UsageError
from decentralml.untrusted import clip

__all__ = ["EMPTY_PATH_MESSAGE", "check_path_text", "local_path_error", "local_paths"]

EMPTY_PATH_MESSAGE = "an empty string is not a path; pass '.' for the current directory."

_HINTS = {
    errno.ENOTDIR: "A component of the path is a regular file: choose a path whose parents are directories.",
    errno.EROFS: "Choose a path on a writable file system.",
    errno.EACCES: "Choose a path you may write to, or change its permissions.",
    errno.EPERM: "Choose a path you may write to, or change its permissions.",
    errno.ENAMETOOLONG: "Choose a shorter path.",
    errno.EISDIR: "It is a directory: pass a path for a file.",
    errno.EEXIST: "Something that is not a directory is in the way: choose another path.",
    errno.ENOSPC: "Free some space on that file system or choose another one.",
    errno.ELOOP: "Check the symbolic links on the path.",
}


def check_path_text(text: str) -> str:
    """``text`` unchanged; UsageError if it is empty (it would mean the current directory)."""
    if not text:
        raise UsageError(EMPTY_PATH_MESSAGE)
    return text


def local_path_error(exc: OSError, path: Path | str | None = None) -> LocalPathError:
    """The one-line error for ``exc``, met on ``path`` (default: the file name the error carries)."""
    where = exc.filename if exc.filename is not None else path
    reason = exc.strerror or type(exc).__name__
    target = f" {clip(str(where))}" if where is not None else ""
    return LocalPathError(f"Cannot use the local path{target}: {reason}.",
                          hint=_HINTS.get(exc.errno or 0, "Check the path and its permissions."))


@contextmanager
def local_paths(path: Path | str | None = None) -> Iterator[None]:
    """A block that creates or writes local paths: an ``OSError`` raised in it becomes a LocalPathError."""
    try:
        yield
    except DecentralMLError:
        raise
    except OSError as exc:
        raise local_path_error(exc, path) from exc
