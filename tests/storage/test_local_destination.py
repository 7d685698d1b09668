"""A download whose destination fails is the destination's error (LocalPathError, exit 3), not the store's."""

from __future__ import annotations

import builtins
import errno
import tempfile
from pathlib import Path

import pytest

from decentralml.errors import LocalPathError, StorageError
from decentralml.storage.local import LocalStore


@pytest.fixture
def stored(tmp_path: Path) -> tuple[LocalStore, object]:
    source = tmp_path / "result"
    source.mkdir()
    (source / "weights.bin").write_bytes(b"w" * 1000)
    store = LocalStore(tmp_path / "store")
    return store, store.put(source)


def _read_only(*args: object, dir: object = None, **kwargs: object) -> str:
    raise OSError(errno.EROFS, "Read-only file system", str(dir))


def test_a_read_only_destination_names_the_destination(stored: tuple[LocalStore, object], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    store, ref = stored
    (tmp_path / "RO").mkdir()
    monkeypatch.setattr(tempfile, "mkdtemp", _read_only)
    with pytest.raises(LocalPathError, match="Read-only file system") as raised:
        store.get(ref, tmp_path / "RO" / "dl")  # type: ignore[arg-type]
    assert str(tmp_path / "RO") in raised.value.message and "store" not in raised.value.message.split(":")[0]


def test_a_write_failing_inside_the_destination_names_the_destination(stored: tuple[LocalStore, object], tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store, ref = stored
    real_open = builtins.open

    def full(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if mode[0] in "wxa" and str(tmp_path / "out") in str(file):
            raise OSError(errno.ENOSPC, "No space left on device", str(file))
        return real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", full)
    with pytest.raises(LocalPathError, match="No space left on device") as raised:
        store.get(ref, tmp_path / "out" / "dl")  # type: ignore[arg-type]
    assert raised.value.message.startswith(f"Cannot use the local path {tmp_path / 'out' / 'dl'}:")
    assert not (tmp_path / "out" / "dl").exists()


def test_a_store_failing_is_still_the_store(stored: tuple[LocalStore, object], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    store, ref = stored
    real_open = builtins.open

    def broken(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if mode[0] == "r" and str(tmp_path / "store") in str(file):
            raise OSError(errno.EIO, "Input/output error", str(file))
        return real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", broken)
    with pytest.raises(StorageError, match="Input/output error") as raised:
        store.get(ref, tmp_path / "dl")  # type: ignore[arg-type]
    assert not isinstance(raised.value, LocalPathError) and raised.value.message.startswith("Cannot read file://")


@pytest.mark.parametrize("blocked", ["a-file", "a-file/below"])
def test_a_data_directory_blocked_by_a_file_is_a_local_path_error(tmp_path: Path, blocked: str) -> None:
    (tmp_path / "a-file").write_bytes(b"not a directory")
    source = tmp_path / "result"
    source.mkdir()
    (source / "weights.bin").write_bytes(b"w")
    with pytest.raises(LocalPathError) as raised:
        LocalStore(tmp_path / blocked).put(source)
    assert raised.value.exit_code == 3 and "--data-dir" in (raised.value.hint or "")
    assert "a-file" in raised.value.message
