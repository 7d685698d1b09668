"""SQLite persistence of a dev chain: blocks, per-block state changes, chain metadata.

One database file, ``chain.sqlite3``, under ``<base path>/chains/<chain id>/``.
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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from decentralml.devnode.codec import decode_body, encode_body
from decentralml.errors import ConfigError

SCHEMA_VERSION = "1"
CHAIN_DIR = Path("chains") / "dev"
DB_NAME = "chain.sqlite3"


@dataclass(frozen=True)
class StoredBlock:
    """One block as persisted: its header, body and the storage changes it made."""

    number: int
    hash: bytes
    header: bytes
    extrinsics: tuple[bytes, ...]
    changes: Mapping[bytes, bytes | None]


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
                    header BLOB NOT NULL, body BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS changes (
                    number INTEGER NOT NULL, key BLOB NOT NULL, value BLOB,
                    PRIMARY KEY (number, key)) WITHOUT ROWID;
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

    def append(self, blocks: Sequence[StoredBlock]) -> None:
        """Commit blocks durably (one transaction, fsync'd) before returning."""
        if not blocks:
            return
        try:
            self._append(blocks)
        except sqlite3.Error as exc:
            raise ConfigError(
                f"Cannot write the chain database {self.path}: {exc}.",
                hint="Free disk space or check permissions, then restart the node (no announced block was lost).",
            ) from None

    def _append(self, blocks: Sequence[StoredBlock]) -> None:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO blocks (number, hash, header, body) VALUES (?, ?, ?, ?)",
                    [(b.number, b.hash, b.header, encode_body(b.extrinsics)) for b in blocks],
                )
                db.executemany(
                    "INSERT INTO changes (number, key, value) VALUES (?, ?, ?)",
                    [(b.number, key, value) for b in blocks for key, value in b.changes.items()],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def block_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM blocks").fetchone()[0])

    def load(self) -> Iterator[StoredBlock]:
        """Every stored block in order, with its changes."""
        with self._lock:
            block_rows = self._db.execute("SELECT number, hash, header, body FROM blocks ORDER BY number").fetchall()
            change_rows = self._db.execute("SELECT number, key, value FROM changes ORDER BY number").fetchall()
        changes: dict[int, dict[bytes, bytes | None]] = {}
        for number, key, value in change_rows:
            changes.setdefault(number, {})[bytes(key)] = None if value is None else bytes(value)
        for expected, (number, block_hash, header, body) in enumerate(block_rows):
            if number != expected:
                raise ConfigError(
                    f"The chain database is missing block {expected}.",
                    hint="Run `decentralml devnode purge` to start a new chain.",
                )
            yield StoredBlock(number, bytes(block_hash), bytes(header), tuple(decode_body(bytes(body))), changes.get(number, {}))
