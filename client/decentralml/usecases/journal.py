"""A role's local journal: append-only JSON lines, each one on disk (fsync) before the step it announces.

A long-running creator job or contributor node writes an *intent* record
before every transaction and a *done* record after it; on restart the records
are replayed and every intent without its done record is settled against the
chain (which says whether the transaction happened), so nothing is done twice
and nothing is forgotten. A line torn by a kill in the middle of a write is
the last line of the file: it is dropped on reading (its step never started).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from decentralml.errors import ConfigError

MAX_RECORD_BYTES = 1 << 20


class Journal:
    """``path``: one JSON object per line; :meth:`append` returns once the line is durable."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._records = list(self._read())
        self._repair_tail()

    def _read(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with open(self.path, "rb") as handle:
            lines = handle.read().split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                if number == len(lines):  # torn by a kill mid-write: the step it announced never started
                    return
                raise ConfigError(
                    f"{self.path} line {number} is not JSON: the journal is damaged.",
                    hint="Restore it from a backup, or start the job in a fresh directory.",
                ) from None
            if not isinstance(record, dict):
                raise ConfigError(f"{self.path} line {number} is not a JSON object: the journal is damaged.")
            yield record

    def _repair_tail(self) -> None:
        """Cut a torn last line so the next record starts on a line of its own."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data[: data.rfind(b"\n") + 1]
            with open(self.path, "r+b") as handle:
                handle.truncate(len(keep))
                handle.flush()
                os.fsync(handle.fileno())

    @property
    def records(self) -> list[dict[str, Any]]:
        return list(self._records)

    def append(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Write one record and fsync it (and the directory on the first write)."""
        line = json.dumps(dict(record), sort_keys=True, separators=(",", ":")).encode("utf-8")
        if len(line) > MAX_RECORD_BYTES:
            raise ValueError(f"journal record of {len(line)} bytes")
        created = not self.path.exists()
        with open(self.path, "ab") as handle:
            handle.write(line + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        if created:
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        stored = dict(record)
        self._records.append(stored)
        return stored

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        return [r for r in self._records if r.get("type") in types]
