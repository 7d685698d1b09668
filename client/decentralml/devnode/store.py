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
a block before that. Blocks are written in groups (one commit for every block
sealed while the previous commit was in flight), which is what lets the node
seal hundreds of blocks a second and still lose none to ``kill -9``.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from decentralml.devnode.codec import decode_body, encode_body
from decentralml.errors import ConfigError

SCHEMA_VERSION = "2"
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


def purge(base_path: Path) -> bool:
    """Delete the chain data under ``base_path``; return whether there was any."""
    target = chain_dir(base_path)
    if not target.exists():
        return False
    shutil.rmtree(target)
    return True


class ChainStore:
    """The blocks and state changes of one chain in SQLite."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self._lock = threading.Lock()
        self.path = path

    @classmethod
    def open(cls, base_path: Path) -> ChainStore:
        """Open (creating if needed) the chain database under ``base_path``."""
        directory = chain_dir(base_path)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / DB_NAME
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS blocks (
                    number INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE,
                    header BLOB NOT NULL, body BLOB);
                CREATE TABLE IF NOT EXISTS changes (
                    number INTEGER NOT NULL, key BLOB NOT NULL, value BLOB,
                    PRIMARY KEY (number, key)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS state (key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID;
                """
            )
        except sqlite3.Error as exc:
            raise ConfigError(
                f"Cannot open the chain database under {directory}: {exc}.",
                hint="Check the --base-path permissions or run `decentralml devnode purge`.",
            ) from None
        store = cls(db, path)
        version = store.get_meta("schema")
        if version is None:
            store.set_meta("schema", SCHEMA_VERSION.encode())
        elif version.decode() != SCHEMA_VERSION:
            raise ConfigError(
                f"The chain data in {directory} has format {version.decode()}, this node writes {SCHEMA_VERSION}.",
                hint="Run `decentralml devnode purge` to start a new chain.",
            )
        return store

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
        with self._lock:
            row = self._db.execute("SELECT number FROM blocks WHERE hash = ?", (block_hash,)).fetchone()
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
                "The chain database is missing blocks.", hint="Run `decentralml devnode purge` to start a new chain."
            )
        return StoredChain(floor, best, base, sorted(changes.items()), blocks)


def _stored(row: tuple) -> StoredBlock:
    number, block_hash, header, body = row
    extrinsics = None if body is None else tuple(decode_body(bytes(body)))
    return StoredBlock(int(number), bytes(block_hash), bytes(header), extrinsics, {})
