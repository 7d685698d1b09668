"""Where the CLI writes: data to stdout, everything else to stderr.

``--json`` prints one JSON document on stdout per command and silences
spinners and progress bars; ``--quiet`` silences messages but not data.

Every string printed here is treated as untrusted text (it may hold a task
question, a metric name, a URI from the chain): messages and string data are
printed without markup and with control characters made visible
(:mod:`decentralml.untrusted`); tables are :class:`UntrustedTable`, whose
string cells and title are escaped the same way. Only the fixed "Warning:"
label is styled.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Console, RenderableType

if TYPE_CHECKING:  # rich.progress is imported by the commands that transfer files, not at start-up
    from rich.progress import Progress
from rich.text import Text

from decentralml.untrusted import UntrustedTable, printable

__all__ = ["Output", "UntrustedTable"]

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
    #: Under --json, the warnings not printed yet (see :meth:`warning`).
    pending_warnings: list[str] = field(default_factory=list)

    def data(self, payload: Any, renderable: RenderableType | str | None = None) -> None:
        """Print a command's result: JSON in --json mode, else the renderable."""
        if self.json_mode:
            self.out.file.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
            self.out.file.flush()
        elif isinstance(renderable, str):
            self.out.print(printable(renderable, keep_newlines=True), markup=False, highlight=False)
        elif renderable is not None:
            self.out.print(renderable)

    def stream_json(self, rows: Iterable[Any]) -> None:
        """Print a JSON array one row at a time as ``rows`` yields them (one document, written as it is read)."""
        write = self.out.file.write
        write("[")
        first = True
        for row in rows:
            write("\n  " if first else ",\n  ")
            write(json.dumps(row, sort_keys=True))
            first = False
        write("\n]\n" if not first else "]\n")
        self.out.file.flush()

    def message(self, text: str) -> None:
        """An informational line on stderr (hidden by --quiet and --json)."""
        if not (self.quiet or self.json_mode):
            self.err.print(printable(text, keep_newlines=True), markup=False, highlight=False)

    def warning(self, text: str) -> None:
        """A warning on stderr, shown even with --quiet.

        Under --json it is held until the command ends (:meth:`take_warnings`): printed then as one
        JSON line each, ``{"warning": {"message": str}}``, or, if the command fails, carried in its one
        error line, so that stderr stays one line of JSON on failure.
        """
        if self.json_mode:
            self.pending_warnings.append(printable(text))
            return
        self.err.print(Text("Warning: ", style="yellow") + Text(printable(text, keep_newlines=True)), highlight=False)

    def take_warnings(self) -> list[str]:
        """The warnings held under --json, removed from this output."""
        taken, self.pending_warnings = self.pending_warnings, []
        return taken

    def flush_warnings(self) -> None:
        """Print the warnings held under --json, one JSON line each on stderr."""
        for text in self.take_warnings():
            self.err.file.write(json.dumps({"warning": {"message": text}}, sort_keys=True) + "\n")
        self.err.file.flush()

    @contextlib.contextmanager
    def status(self, text: str) -> Iterator[None]:
        """A spinner on stderr while waiting (only on a terminal)."""
        if self.quiet or self.json_mode or not self.err.is_terminal:
            yield
            return
        with self.err.status(Text(printable(text))):
            yield

    def progress(self) -> Progress:
        """A byte-transfer progress bar on stderr (disabled off a terminal)."""
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=self.err,
            transient=True,
            disable=self.quiet or self.json_mode or not self.err.is_terminal,
        )
