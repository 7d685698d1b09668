"""The dev node's SQLite store: lookup by hash across the batched hash index, crashes, older formats."""

from __future__ import annotations

import hashlib
import shlex
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from decentralml.devnode.cli import app as devnode_app
from decentralml.devnode.store import DB_NAME, ChainStore, StoredBlock, chain_dir
from decentralml.errors import ConfigError

BATCH = 8


def _hash(number: int, prefix: bytes | None = None) -> bytes:
    digest = hashlib.blake2b(number.to_bytes(8, "little"), digest_size=32).digest()
    return digest if prefix is None else prefix + digest[len(prefix) :]


def _block(number: int, prefix: bytes | None = None) -> StoredBlock:
    return StoredBlock(number, _hash(number, prefix), b"header %d" % number, (), {b"key": number.to_bytes(4, "little")})


def _append_all(store: ChainStore, numbers: range, group: int) -> None:
    for start in range(numbers.start, numbers.stop, group):
        store.append([_block(n) for n in range(start, min(start + group, numbers.stop))])


@pytest.mark.parametrize("group", [1, 3, BATCH, 2 * BATCH + 1])
def test_every_block_is_found_by_hash_before_and_after_its_hash_batch_and_a_restart(tmp_path: Path, group: int) -> None:
    store = ChainStore.open(tmp_path, hash_batch=BATCH)
    try:
        for start in range(0, 5 * BATCH + 3, group):
            numbers = range(start, min(start + group, 5 * BATCH + 3))
            store.append([_block(n) for n in numbers])
            for n in range(numbers.stop):
                assert store.number_of(_hash(n)) == n
    finally:
        store.close()
    store = ChainStore.open(tmp_path, hash_batch=BATCH)
    try:
        assert [store.number_of(_hash(n)) for n in range(5 * BATCH + 3)] == list(range(5 * BATCH + 3))
        assert store.number_of(_hash(10_000)) is None
        # Same 8-byte index key as a stored block, another hash: not that block.
        assert store.number_of(_hash(3)[:8] + bytes(24)) is None
    finally:
        store.close()


def test_hashes_sharing_the_index_key_are_told_apart(tmp_path: Path) -> None:
    shared = b"\x42" * 8
    store = ChainStore.open(tmp_path, hash_batch=BATCH)
    try:
        store.append([_block(n, shared if n % 2 else None) for n in range(3 * BATCH)])
        for n in range(3 * BATCH):
            assert store.number_of(_hash(n, shared if n % 2 else None)) == n
    finally:
        store.close()


def test_a_failed_commit_leaves_lookups_as_they_were(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ChainStore.open(tmp_path, hash_batch=BATCH)
    try:
        _append_all(store, range(BATCH - 1), 2)

        def disk_full(floor: int) -> None:  # fails after the hash batch was written, inside the same transaction
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(store, "_fold", disk_full)
        with pytest.raises(ConfigError, match="Cannot write the chain database"):
            store.append([_block(BATCH - 1), _block(BATCH)], state_floor=1)
        monkeypatch.undo()
        assert store.number_of(_hash(BATCH - 1)) is None
        assert [store.number_of(_hash(n)) for n in range(BATCH - 1)] == list(range(BATCH - 1))
        _append_all(store, range(BATCH - 1, 2 * BATCH), 2)
        assert [store.number_of(_hash(n)) for n in range(2 * BATCH)] == list(range(2 * BATCH))
    finally:
        store.close()
    store = ChainStore.open(tmp_path, hash_batch=BATCH)
    try:
        assert [store.number_of(_hash(n)) for n in range(2 * BATCH)] == list(range(2 * BATCH))
    finally:
        store.close()


def test_blocks_committed_before_a_kill_are_found_by_hash_after_it(tmp_path: Path) -> None:
    # The process appends across several hash batches, says so, and is killed (SIGKILL) at once.
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from tests.devnode.test_store import _append_all
        from decentralml.devnode.store import ChainStore
        store = ChainStore.open(Path({str(tmp_path)!r}), hash_batch={BATCH})
        _append_all(store, range({3 * BATCH + 5}), 3)
        print("committed", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == -9 and done.stdout.strip() == "committed", done.stderr
    store = ChainStore.open(tmp_path, hash_batch=BATCH)
    try:
        assert [store.number_of(_hash(n)) for n in range(3 * BATCH + 5)] == list(range(3 * BATCH + 5))
        assert store.block_count() == 3 * BATCH + 5
    finally:
        store.close()


def test_a_database_of_the_previous_format_is_refused_untouched_with_the_purge_command(tmp_path: Path) -> None:
    base = tmp_path / "my chain's data"
    directory = chain_dir(base)
    directory.mkdir(parents=True)
    old = sqlite3.connect(directory / DB_NAME)
    old.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
        CREATE TABLE blocks (number INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, header BLOB NOT NULL, body BLOB);
        INSERT INTO meta (key, value) VALUES ('schema', CAST('2' AS BLOB));
        """
    )
    old.commit()
    old.close()
    with pytest.raises(ConfigError, match="has format 2, this node writes 3") as raised:
        ChainStore.open(base)
    hint = raised.value.hint
    assert hint is not None
    check = sqlite3.connect(directory / DB_NAME)
    tables = {name for (name,) in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    check.close()
    assert tables == {"meta", "blocks"}
    # The hint names the exact command for this base path (shell-quoted); run as given, it clears the way.
    command = shlex.split(hint[hint.index("`") + 1 : hint.rindex("`")])
    assert command[:3] == ["decentralml", "devnode", "purge"] and command[3:] == ["--base-path", str(base)]
    purged = CliRunner().invoke(devnode_app, [*command[2:], "--yes"])
    assert purged.exit_code == 0, purged.output
    ChainStore.open(base).close()
