"""Typer path parameters that refuse an empty string while the command line is parsed.

An empty string converts to ``Path("")``, which is ``Path(".")``: without this check
``send-result 4 ''`` would upload the current directory and ``split init-bundle ''``
would write into it. Every path argument and option of every command is declared
with :func:`path_parameter`, so ``''`` is a usage error (exit 2, one line naming the
parameter: ``Invalid value for 'RESULT_DIR': an empty string is not a path ...``),
raised before anything connects, uploads or writes. ``.`` still means the current
directory when typed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from decentralml.errors import UsageError
from decentralml.primitives.localpaths import check_path_text

__all__ = ["complete_path", "path", "path_parameter"]

#: At most this many candidates are offered for one completion (a directory may be huge).
MAX_COMPLETIONS = 200


def path(text: str | Path) -> Path:
    """``text`` as a Path; an empty string is refused (Typer's ``parser``: help shows ``PATH``).

    On Typer's public API (a ``parser``), not a subclass of its internal path type, which
    differs between the Typer releases the client supports.
    """
    if isinstance(text, Path):  # a default value
        return text
    try:
        check_path_text(text)
    except UsageError as exc:
        raise typer.BadParameter(exc.message) from None
    return Path(text)


def complete_path(incomplete: str) -> list[str]:
    """Shell completion of a path: the entries of the typed directory that start with the typed name.

    Directories end with ``/``; hidden entries only when the name typed starts with ``.``.
    """
    directory, _, prefix = incomplete.rpartition("/")
    base = Path(directory or ".").expanduser() if directory or not incomplete.startswith("/") else Path("/")
    shown = f"{directory}/" if directory or incomplete.startswith("/") else ""
    found: list[str] = []
    try:
        with os.scandir(base) as entries:
            for entry in entries:
                if not entry.name.startswith(prefix) or (entry.name.startswith(".") and not prefix.startswith(".")):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                found.append(f"{shown}{entry.name}{'/' if is_dir else ''}")
                if len(found) >= MAX_COMPLETIONS:
                    break
    except OSError:
        return []
    return sorted(found)


def path_parameter(*names: str, help: str, **extra: Any) -> Any:
    """A path option (``names``) or argument (no names) that refuses ``''``, for ``Annotated[Path, ...]``;
    called as ``typer.Option``/``typer.Argument`` would be."""
    settings: dict[str, Any] = {"help": help, "parser": path, "autocompletion": complete_path, **extra}
    if names:
        return typer.Option(*names, **settings)
    return typer.Argument(**settings)
