"""Budgets on untrusted artifacts: how much a download may put on the receiver's disk.

A reference read from the chain is chosen by the party that uploaded the
bytes, so its digest proves nothing about size. Every ``get`` therefore runs
under a :class:`Budget`, enforced while the bytes stream and before they land:

* ``max_total_bytes``: the artifact as transferred (a file, or a directory's
  pack) and the sum of the files written;
* ``max_file_bytes``: one file of a directory;
* ``max_entries``: files and directories of a directory;
* ``max_path_bytes`` / ``max_depth``: UTF-8 bytes and ``/``-components of a
  member's name.

Before any byte is fetched the size the backend announces is checked (S3:
the object's ``Content-Length``; IPFS: the DAG's ``CumulativeSize``). Every
overrun raises :class:`~decentralml.errors.IntegrityError` and the store
removes whatever it had written.

Defaults come from the task: a result may be at most
:data:`RESULT_SIZE_MULTIPLE` times its base model (:meth:`Budget.for_result`),
a task bundle at most :data:`DEFAULT_BUNDLE_BYTES` (:meth:`Budget.for_bundle`);
the CLI's ``--max-download-bytes`` overrides the total.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from decentralml.errors import IntegrityError

MiB = 1 << 20
GiB = 1 << 30

#: A result (weights + metrics) may be this many times the size of its base model.
RESULT_SIZE_MULTIPLE = 4
#: Room for a result's small files (metrics.json) and the pack's headers.
RESULT_SLACK_BYTES = 1 * MiB
#: The largest task bundle a contributor downloads unless told otherwise.
DEFAULT_BUNDLE_BYTES = 1 * GiB
#: Budget of a download when nothing more specific is known (e.g. ``show-result --download``).
DEFAULT_MAX_BYTES = 8 * GiB


@dataclass(frozen=True)
class Budget:
    """Limits on one artifact download (bytes, entries, names); all positive integers."""

    max_total_bytes: int = DEFAULT_MAX_BYTES
    max_file_bytes: int | None = None  # None: the total
    max_entries: int = 10_000
    max_path_bytes: int = 1024
    max_depth: int = 32

    def __post_init__(self) -> None:
        for name in ("max_total_bytes", "max_entries", "max_path_bytes", "max_depth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Budget.{name} must be a positive integer, not {value!r}.")

    @property
    def file_bytes(self) -> int:
        """The per-file limit in effect."""
        return min(self.max_file_bytes or self.max_total_bytes, self.max_total_bytes)

    @classmethod
    def for_result(cls, base_model_bytes: int, *, multiple: int = RESULT_SIZE_MULTIPLE) -> Budget:
        """A contribution's budget: ``multiple`` x the base model (plus 1 MiB), at most 16 entries."""
        total = max(1, int(base_model_bytes)) * multiple + RESULT_SLACK_BYTES
        return cls(max_total_bytes=total, max_entries=16, max_path_bytes=256, max_depth=4)

    @classmethod
    def for_bundle(cls, max_bytes: int = DEFAULT_BUNDLE_BYTES) -> Budget:
        """A task bundle's budget."""
        return cls(max_total_bytes=max_bytes)

    def with_total(self, max_total_bytes: int | None) -> Budget:
        """This budget with another total (None keeps it): the user's override."""
        return self if max_total_bytes is None else replace(self, max_total_bytes=max_total_bytes)

    # --- checks ----------------------------------------------------------------

    def check_announced(self, what: str, size: int | None) -> None:
        """Refuse an artifact whose announced size already exceeds the total."""
        if size is not None and size > self.max_total_bytes:
            raise over_budget(what, f"it announces {size} bytes, the budget is {self.max_total_bytes}")

    def check_name(self, what: str, name: str) -> None:
        """Refuse a member name that is too long or too deep."""
        raw = name.encode("utf-8", "surrogateescape")
        if len(raw) > self.max_path_bytes:
            raise over_budget(what, f"a member name has {len(raw)} bytes, the budget is {self.max_path_bytes}")
        depth = len([p for p in name.split("/") if p not in ("", ".")])
        if depth > self.max_depth:
            raise over_budget(what, f"member {name[:80]!r} is {depth} levels deep, the budget is {self.max_depth}")


def over_budget(what: str, detail: str) -> IntegrityError:
    """The error every budget overrun raises."""
    return IntegrityError(
        f"Refusing {what}: {detail}; nothing of it was kept.",
        hint="If you trust its sender, raise the limit with --max-download-bytes.",
    )


class ByteCounter:
    """Counts bytes against a limit; :meth:`add` raises IntegrityError on the first byte too many."""

    def __init__(self, what: str, limit: int) -> None:
        self.what = what
        self.limit = limit
        self.count = 0

    def add(self, nbytes: int) -> None:
        self.count += nbytes
        if self.count > self.limit:
            raise over_budget(self.what, f"it goes past {self.limit} bytes")


class CountingReader:
    """A read-only stream that refuses to deliver more than ``counter.limit`` bytes."""

    def __init__(self, raw: object, counter: ByteCounter) -> None:
        self._raw = raw
        self._counter = counter

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self._counter.limit - self._counter.count + 1  # never more than one byte past the limit
        data: bytes = self._raw.read(n)  # type: ignore[attr-defined]
        self._counter.add(len(data))
        return data
