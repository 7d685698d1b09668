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

from typing import Any, Optional

import typer
from typer.models import TyperPath

from decentralml.errors import UsageError
from decentralml.primitives.localpaths import check_path_text

__all__ = ["NonEmptyPath", "path_parameter"]

class NonEmptyPath(TyperPath):
    """Typer's path type (same completion and metavar) that refuses the empty string."""

    name = "path"

    def convert(self, value: Any, param: Optional[Any], ctx: Optional[Any]) -> Any:
        if isinstance(value, str):
            try:
                check_path_text(value)
            except UsageError as exc:
                self.fail(exc.message, param, ctx)
        return super().convert(value, param, ctx)


def path_parameter(*names: str, help: str, **extra: Any) -> Any:
    """A path option (``names``) or argument (no names) that refuses ``''``, for ``Annotated[Path, ...]``;
    called as ``typer.Option``/``typer.Argument`` would be."""
    if names:
        return typer.Option(*names, help=help, click_type=NonEmptyPath(), **extra)
    return typer.Argument(help=help, click_type=NonEmptyPath(), **extra)
