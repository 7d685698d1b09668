"""All-or-nothing outputs (decentralml.primitives.staging): nothing half-written is visible, nothing existing lost."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from decentralml.errors import UsageError
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
    with pytest.raises(OSError), NewOutputs(tmp_path, ["model", "bundle"], force=True).staged() as stage:
        _write(stage)
    assert _tree(tmp_path) == before


def test_a_block_that_writes_too_little_publishes_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="lacks bundle"), NewOutputs(tmp_path / "o", ["model", "bundle"]).staged() as stage:
        (stage / "model").write_bytes(b"only the model")
    assert _tree(tmp_path) == {}
