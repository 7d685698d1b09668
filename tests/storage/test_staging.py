"""All-or-nothing outputs (decentralml.primitives.staging): nothing half-written is visible, nothing existing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from decentralml.errors import LocalPathError, UsageError
from decentralml.primitives import staging
from decentralml.primitives.staging import NewOutputs


def _tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def _write(directory: Path) -> None:
    (directory / "model").write_bytes(b"new model")
    (directory / "bundle").mkdir()
    (directory / "bundle" / "config.json").write_bytes(b"{}")


def test_a_new_directory_appears_complete(tmp_path: Path) -> None:
    outputs = NewOutputs(tmp_path / "a" / "b", ["model", "bundle"])
    with outputs.staged() as stage:
        _write(stage)
        assert not (tmp_path / "a").exists(), "nothing is visible before the block ends"
    assert _tree(tmp_path) == {"a": None, "a/b": None, "a/b/bundle": None, "a/b/bundle/config.json": b"{}",
                               "a/b/model": b"new model"}


def test_a_failure_while_writing_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "model").write_bytes(b"old")
    with pytest.raises(RuntimeError), NewOutputs(tmp_path, ["model", "bundle"], force=True).staged() as stage:
        _write(stage)
        raise RuntimeError("interrupted")
    assert _tree(tmp_path) == {"model": b"old"}


def test_existing_outputs_need_force(tmp_path: Path) -> None:
    (tmp_path / "bundle").mkdir()
    with pytest.raises(UsageError, match="bundle already exists") as refused:
        NewOutputs(tmp_path, ["model", "bundle"])
    assert "--force" in str(refused.value.hint)
    with NewOutputs(tmp_path, ["model", "bundle"], force=True).staged() as stage:
        _write(stage)
    assert _tree(tmp_path)["bundle/config.json"] == b"{}"


@pytest.mark.parametrize("out", ["file", "file/sub/dir"])
def test_an_output_directory_that_is_a_file_is_refused(tmp_path: Path, out: str) -> None:
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(UsageError, match="is not a directory"):
        NewOutputs(tmp_path / out, ["model"])


def test_a_failed_rename_undoes_the_others_and_restores_what_they_replaced(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "model").write_bytes(b"old model")
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "config.json").write_bytes(b"old")
    before = _tree(tmp_path)
    rename = os.rename

    def failing(src: str | Path, dst: str | Path) -> None:
        if Path(dst) == tmp_path / "bundle" and Path(src).parent.name.startswith(".partial-"):  # the new bundle's move
            raise OSError(18, "Invalid cross-device link")
        rename(src, dst)

    monkeypatch.setattr(staging.os, "rename", failing)
    with pytest.raises(LocalPathError, match="Invalid cross-device link"), \
            NewOutputs(tmp_path, ["model", "bundle"], force=True).staged() as stage:
        _write(stage)
    assert _tree(tmp_path) == before


def test_a_block_that_writes_too_little_publishes_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="lacks bundle"), NewOutputs(tmp_path / "o", ["model", "bundle"]).staged() as stage:
        (stage / "model").write_bytes(b"only the model")
    assert _tree(tmp_path) == {}


_HOLD = """
import sys, time
from pathlib import Path
from decentralml.primitives.staging import NewOutputs
with NewOutputs(Path(sys.argv[1]), ["model"]).staged() as stage:
    (stage / "model").write_bytes(b"half")
    print(stage, flush=True)
    time.sleep(60)
"""


def _holding(target: Path) -> tuple[subprocess.Popen[str], Path]:
    """A run of NewOutputs for ``target`` stopped inside its block: (the process, its staging directory)."""
    process = subprocess.Popen([sys.executable, "-c", _HOLD, str(target)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def _age(path: Path, seconds: float = 2 * staging.STALE_AFTER_SECONDS) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_killed_run_s_staging_is_removed_by_the_next_run_for_that_target(tmp_path: Path) -> None:
    """kill -9 during a write leaves par/.partial-…; the next run for that target removes it, and only it."""
    target = tmp_path / "n1" / "deep"
    killed, leftover = _holding(target)
    other, others = _holding(tmp_path / "n2")  # another target's killed run: not ours to remove
    live, running = _holding(target)  # the same target, still running: locked
    for process in (killed, other):
        process.send_signal(signal.SIGKILL)
        process.wait()
    try:
        assert leftover.parent == tmp_path and leftover.is_dir() and running.is_dir()
        for path in (leftover, others, running):
            _age(path)
        fresh = Path(tempfile.mkdtemp(prefix=NewOutputs(target, ["model"]).staging_prefix, dir=tmp_path))  # just made
        with NewOutputs(target, ["model"]).staged() as stage:
            (stage / "model").write_bytes(b"whole")
        assert (target / "model").read_bytes() == b"whole"
        assert not leftover.exists(), "the killed run's staging directory is removed"
        assert others.is_dir() and running.is_dir() and fresh.is_dir()
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait()


def test_a_killed_single_file_write_is_removed_by_the_next_one(tmp_path: Path) -> None:
    dest = tmp_path / "global.safetensors"
    stale = tmp_path / f".{dest.name}.partial-killed"
    stale.write_bytes(b"half")
    _age(stale)
    unrelated = tmp_path / ".other.safetensors.partial-killed"
    unrelated.write_bytes(b"half")
    _age(unrelated)
    with staging.staged_path(dest) as tmp:
        tmp.write_bytes(b"whole")
    assert dest.read_bytes() == b"whole" and not stale.exists() and unrelated.exists()


def test_force_replaces_the_whole_set_of_shards(tmp_path: Path) -> None:
    """prepare-data --force --participants 2 after a 3-participant run: participant3.csv does not survive."""
    from decentralml.fl.split.data import prepare_shards

    prepare_shards("breast_cancer", tmp_path, participants=3)
    (tmp_path / "participant_notes.csv").write_text("mine")
    with pytest.raises(UsageError, match="participant3.csv"):
        prepare_shards("breast_cancer", tmp_path, participants=2)
    prepare_shards("breast_cancer", tmp_path, participants=2, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["participant1.csv", "participant2.csv",
                                                          "participant_notes.csv", "test.csv"]
