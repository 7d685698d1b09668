"""Progress bars for artifact transfers (rich), on stderr.

:func:`transfer_progress` returns the observer a command passes to a store's
``put``/``get``: a rich bar for transfers of at least ``threshold`` bytes
(4 MiB by default) when the console is a terminal, otherwise one that shows
nothing. Pass ``json_output=True`` for ``--json`` runs. The caller owns the
console (the CLI's stderr console); nothing is printed to stdout.
"""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from decentralml.storage.base import NullObserver, TransferObserver

DEFAULT_THRESHOLD = 4 << 20


class RichTransferObserver:
    """Shows one bar per transfer of known size >= ``threshold``; thread-safe ``advance``."""

    def __init__(self, console: Console, *, threshold: int = DEFAULT_THRESHOLD) -> None:
        self._console = console
        self._threshold = threshold
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def begin(self, description: str, total: int | None) -> None:
        self.end()
        if total is None or total < self._threshold:
            return
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self._console,
            transient=True,
        )
        progress.start()
        with self._lock:
            self._progress = progress
            self._task = progress.add_task(description, total=total)

    def advance(self, nbytes: int) -> None:
        with self._lock:
            if self._progress is not None and self._task is not None:
                self._progress.advance(self._task, nbytes)

    def end(self) -> None:
        with self._lock:
            progress, self._progress, self._task = self._progress, None, None
        if progress is not None:
            progress.stop()


def transfer_progress(
    console: Console | None = None, *, json_output: bool = False, threshold: int = DEFAULT_THRESHOLD
) -> TransferObserver:
    """The observer for a command: rich bars on a terminal, nothing with --json or when piped."""
    console = console if console is not None else Console(stderr=True)
    if json_output or not console.is_terminal:
        return NullObserver()
    return RichTransferObserver(console, threshold=threshold)
