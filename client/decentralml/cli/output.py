"""Where the CLI writes: data to stdout, everything else to stderr.

``--json`` prints one JSON document on stdout per command and silences
spinners and progress bars; ``--quiet`` silences messages but not data.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

PIPE_WIDTH = 160


def _stdout_console() -> Console:
    console = Console(file=sys.stdout)
    if not console.is_terminal:
        console = Console(file=sys.stdout, width=PIPE_WIDTH)  # tables stay readable in files and pipes
    return console


def _stderr_console() -> Console:
    return Console(file=sys.stderr, stderr=True, soft_wrap=True)


@dataclass
class Output:
    """The consoles of one run, honouring --json and --quiet."""

    json_mode: bool = False
    quiet: bool = False
    out: Console = field(default_factory=_stdout_console)
    err: Console = field(default_factory=_stderr_console)

    def data(self, payload: Any, renderable: RenderableType | str | None = None) -> None:
        """Print a command's result: JSON in --json mode, else the renderable."""
        if self.json_mode:
            self.out.file.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
            self.out.file.flush()
        elif renderable is not None:
            self.out.print(renderable)

    def message(self, text: str) -> None:
        """An informational line on stderr (hidden by --quiet and --json)."""
        if not (self.quiet or self.json_mode):
            self.err.print(text, highlight=False)

    def warning(self, text: str) -> None:
        """A warning on stderr, shown even with --quiet."""
        self.err.print(f"[yellow]Warning:[/yellow] {text}", highlight=False)

    @contextlib.contextmanager
    def status(self, text: str) -> Iterator[None]:
        """A spinner on stderr while waiting (only on a terminal)."""
        if self.quiet or self.json_mode or not self.err.is_terminal:
            yield
            return
        with self.err.status(text):
            yield

    def progress(self) -> Progress:
        """A byte-transfer progress bar on stderr (disabled off a terminal)."""
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=self.err,
            transient=True,
            disable=self.quiet or self.json_mode or not self.err.is_terminal,
        )
