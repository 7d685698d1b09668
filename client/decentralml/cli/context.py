"""The object every command finds in ``ctx.obj``."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from decentralml.cli.output import Output
from decentralml.config import Settings
from decentralml.errors import ConfigError


@dataclass(frozen=True)
class RunContext:
    """Settings and consoles of this run (built by the root callback)."""

    settings: Settings
    output: Output


def run_context(ctx: typer.Context) -> RunContext:
    """The RunContext of the current command."""
    obj = ctx.find_object(RunContext)
    if obj is None:
        raise ConfigError("Internal: the root callback did not run.")
    return obj
