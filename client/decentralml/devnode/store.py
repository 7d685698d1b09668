"""SQLite persistence of a dev chain: blocks, state, per-block state changes, chain metadata.

One database file, ``chain.sqlite3``, under ``<base path>/chains/<chain id>/``.
State is kept as Substrate's pruning keeps it: ``changes`` holds the storage
changes of the blocks whose state is kept (from ``state_floor`` on) and
``state`` the full state as of the block before ``state_floor``; each commit
folds the changes of blocks leaving the window into ``state``. So the file
grows with the number of blocks only by their headers (and bodies, unless
blocks pruning drops them), and a restart reads the state and the window, not
the chain. An archive node (no pruning) keeps every block's changes.
WAL journal with ``synchronous=FULL``: :meth:`ChainStore.append` returns only
once the blocks are committed and fsync'd, and the node tells no client about
a block before that. Blocks are written in groups (one commit for the blocks
sealed from the work that arrived while the previous commit was in flight), which
is what lets the node seal hundreds of blocks a second and still lose none to
``kill -9``.

Lookup by hash: ``blocks`` is keyed by number (each commit appends to its last
pages); ``block_hashes`` maps the first 8 bytes of each hash to its block (the
full hash is checked against the block row). Hashes are random, so that index is
written by a sweep over its key space (:mod:`decentralml.devnode.hash_index`):
each index page about once per ``hash_batch`` blocks rather than once per block,
while the newest hashes wait in memory. ``meta`` ``hash_index`` holds the sweep's
position; opening the store reads back the hashes of the blocks the index may
lack (about two sweeps' worth, whatever the chain length).
"""

from __future__ import annotations

import shlex
import shutil
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from decentralml.devnode.codec import decode_body, encode_body
from decentralml.devnode.hash_index import PREFIX, PendingHashes
from decentralml.errors import ConfigError

SCHEMA_VERSION = "3"
# Blocks per sweep of the hash index: each of its pages is written about once per sweep.
HASH_BATCH = 32768
CHAIN_DIR = Path("chains") / "dev"
DB_NAME = "chain.sqlite3"


@dataclass(frozen=True)
class StoredBlock:
    """One block as persisted: its header, body and the storage changes it made."""

    number: int
    hash: bytes
    header: bytes
    extrinsics: tuple[bytes, ...] | None
    changes: Mapping[bytes, bytes | None]


@dataclass(frozen=True)
class StoredChain:
    """What a restart needs: the state before ``floor``, the changes of blocks ``floor..best``, the recent blocks."""

    floor: int
    best: int
    base: list[tuple[bytes, bytes]]
    changes: list[tuple[int, dict[bytes, bytes | None]]]
    recent: list[StoredBlock]


def chain_dir(base_path: Path) -> Path:
    """Where a base path keeps its chain data."""
    return base_path / CHAIN_DIR


def purge_hint(base_path: Path, alternative: str = "") -> str:
    """The hint naming the exact purge command for ``base_path`` (shell-quoted), then ``alternative``."""
    command = f"decentralml devnode purge --base-path {shlex.quote(str(base_path))}"
    return f"Run `{command}` to start a new chain{alternative}."


def purge(base_path: Path) -> bool:
    """Delete the chain data under ``base_path``; return whether there was any."""
    target = chain_dir(base_path)
    if not target.exists():
        return False
    shutil.rmtree(target)
    return True


class ChainStore:
    """The blocks and state changes of one chain in SQLite."""

    def __init__(self, connection: sqlite3.Connection, path: Path, hash_batch: int = HASH_BATCH) -> None:
        self._db = connection
        self._lock = threading.Lock()
        self.path = path
        self._pending = PendingHashes(hash_batch)

    @classmethod
    def open(cls, base_path: Path, *, hash_batch: int = HASH_BATCH) -> ChainStore:
        """Open (creating if needed) the chain database under ``base_path``.

        ``hash_batch``: blocks per sweep of the hash index (see :mod:`decentralml.devnode.hash_index`).
        Raises ConfigError for an unusable database or one of an older format.
        """
        directory = chain_dir(base_path)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / DB_NAME
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            version = _schema_version(db)
            if version is not None and version != SCHEMA_VERSION:
                db.close()
                raise ConfigError(
                    f"The chain data in {directory} has format {version}, this node writes {SCHEMA_VERSION}.",
                    hint=purge_hint(base_path),
                )
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS blocks (
                    number INTEGER PRIMARY KEY, hash BLOB NOT NULL, header BLOB NOT NULL, body BLOB);
                CREATE TABLE IF NOT EXISTS block_hashes (
                    prefix BLOB NOT NULL, number INTEGER NOT NULL,
                    PRIMARY KEY (prefix, number)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS changes (
                    number INTEGER NOT NULL, key BLOB NOT NULL, value BLOB,
                    PRIMARY KEY (number, key)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS state (key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID;
                """
            )
            if version is None:
                db.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION.encode(),))
            store = cls(db, path, hash_batch)
            store._load_pending(hash_batch)
        except sqlite3.Error as exc:
            raise ConfigError(
                f"Cannot open the chain database under {directory}: {exc}.",
                hint=f"Check the permissions of {base_path}. {purge_hint(base_path)}",
            ) from None
        return store

    @property
    def base_path(self) -> Path:
        """The base path this store was opened under (``path`` is ``base_path/chains/dev/<db>``)."""
        return self.path.parents[len(CHAIN_DIR.parts)]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get_meta(self, key: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, key: str, value: bytes) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def append(self, blocks: Sequence[StoredBlock], *, state_floor: int | None = None, body_floor: int | None = None) -> None:
        """Commit blocks durably (one transaction, fsync'd) before returning.

        ``state_floor``: fold the changes of blocks before it into the state (state pruning);
        ``body_floor``: drop the bodies of blocks before it (blocks pruning).
        """
        if not blocks:
            return
        try:
            self._append(blocks, state_floor, body_floor)
        except sqlite3.Error as exc:
            raise ConfigError(
                f"Cannot write the chain database {self.path}: {exc}.",
                hint="Free disk space or check permissions, then restart the node (no announced block was lost).",
            ) from None

    def _append(self, blocks: Sequence[StoredBlock], state_floor: int | None, body_floor: int | None) -> None:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO blocks (number, hash, header, body) VALUES (?, ?, ?, ?)",
                    [(b.number, b.hash, b.header, encode_body(b.extrinsics or ())) for b in blocks],
                )
                new_hashes = [(b.hash, b.number) for b in blocks]
                step = self._pending.step(new_hashes, blocks[-1].number + 1)
                db.executemany("INSERT OR IGNORE INTO block_hashes (prefix, number) VALUES (?, ?)", step.rows)
                db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('hash_index', ?)",
                    (f"{step.indexed} {step.cursor} {step.sweep_start}".encode(),),
                )
                db.executemany(
                    "INSERT INTO changes (number, key, value) VALUES (?, ?, ?)",
                    [(b.number, key, value) for b in blocks for key, value in b.changes.items()],
                )
                if state_floor is not None:
                    self._fold(state_floor)
                if body_floor is not None:
                    db.execute("UPDATE blocks SET body = NULL WHERE number < ? AND body IS NOT NULL", (body_floor,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._pending.apply(new_hashes, step)

    def _load_pending(self, batch: int) -> None:
        """The sweep's position and the hashes of the blocks the index may lack (from ``indexed`` on)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'hash_index'").fetchone()
        indexed, cursor, sweep_start = (int(v) for v in bytes(row[0]).decode().split()) if row else (0, 0, 0)
        waiting = [
            (bytes(block_hash), int(number))
            for number, block_hash in self._db.execute("SELECT number, hash FROM blocks WHERE number >= ?", (indexed,))
        ]
        self._pending = PendingHashes(batch, cursor=cursor, sweep_start=sweep_start, indexed=indexed, waiting=waiting)

    def _fold(self, floor: int) -> None:
        """Move the changes of blocks before ``floor`` into ``state`` (in block order: the last change wins)."""
        db = self._db
        row = db.execute("SELECT value FROM meta WHERE key = 'state_floor'").fetchone()
        current = int(bytes(row[0]).decode()) if row else 0
        if floor <= current:
            return
        # SQLite inserts the rows of INSERT ... SELECT ... ORDER BY in that order: a key's last change wins.
        db.execute("INSERT OR REPLACE INTO state (key, value) SELECT key, value FROM changes WHERE number < ? ORDER BY number", (floor,))
        db.execute(
            "DELETE FROM state WHERE key IN (SELECT key FROM changes WHERE number < ? AND value IS NULL) AND value IS NULL",
            (floor,),
        )
        db.execute("DELETE FROM changes WHERE number < ?", (floor,))
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('state_floor', ?)", (str(floor).encode(),))

    def block_count(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(number) FROM blocks").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def block(self, number: int) -> StoredBlock | None:
        """One block by number (``extrinsics`` None once its body was pruned); no state changes."""
        with self._lock:
            row = self._db.execute("SELECT number, hash, header, body FROM blocks WHERE number = ?", (number,)).fetchone()
        return None if row is None else _stored(row)

    def number_of(self, block_hash: bytes) -> int | None:
        """The number of the stored block with this hash, or None."""
        with self._lock:
            number = self._pending.get(block_hash)
            if number is not None:
                return number
            row = self._db.execute(
                "SELECT b.number FROM block_hashes AS h JOIN blocks AS b ON b.number = h.number WHERE h.prefix = ? AND b.hash = ?",
                (block_hash[:PREFIX], block_hash),
            ).fetchone()
        return None if row is None else int(row[0])

    def load(self, recent: int) -> StoredChain:
        """The state, the kept changes and the last ``recent`` blocks; reads nothing proportional to the chain length."""
        with self._lock:
            db = self._db
            row = db.execute("SELECT MAX(number) FROM blocks").fetchone()
            best = -1 if row[0] is None else int(row[0])
            floor_row = db.execute("SELECT value FROM meta WHERE key = 'state_floor'").fetchone()
            floor = int(bytes(floor_row[0]).decode()) if floor_row else 0
            base = [(bytes(k), bytes(v)) for k, v in db.execute("SELECT key, value FROM state")]
            change_rows = db.execute("SELECT number, key, value FROM changes ORDER BY number").fetchall()
            block_rows = db.execute(
                "SELECT number, hash, header, body FROM blocks WHERE number > ? ORDER BY number", (best - recent,)
            ).fetchall()
        changes: dict[int, dict[bytes, bytes | None]] = {}
        for number, key, value in change_rows:
            changes.setdefault(number, {})[bytes(key)] = None if value is None else bytes(value)
        blocks = [_stored(r) for r in block_rows]
        if best >= 0 and (not blocks or blocks[0].number != max(best - recent + 1, 0) or len(blocks) != best - blocks[0].number + 1):
            raise ConfigError(
                "The chain database is missing blocks.", hint=purge_hint(self.base_path)
            )
        return StoredChain(floor, best, base, sorted(changes.items()), blocks)


def _schema_version(db: sqlite3.Connection) -> str | None:
    """The format an existing database was written in (None for a new, empty one)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is None:
        return None
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return None if row is None else bytes(row[0]).decode()


def _stored(row: tuple) -> StoredBlock:
    number, block_hash, header, body = row
    extrinsics = None if body is None else tuple(decode_body(bytes(body)))
    return StoredBlock(int(number), bytes(block_hash), bytes(header), extrinsics, {})
