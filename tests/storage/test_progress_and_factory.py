"""Progress observers and the store factory (no servers)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from decentralml.errors import ConfigError, UsageError
from decentralml.storage import NullObserver, StoreSettings, open_store
from decentralml.storage.local import LocalStore
from decentralml.storage.progress import RichTransferObserver, transfer_progress


def test_no_bars_when_not_a_terminal_or_json() -> None:
    piped = Console(file=io.StringIO(), force_terminal=False)
    assert isinstance(transfer_progress(piped), NullObserver)
    tty = Console(file=io.StringIO(), force_terminal=True)
    assert isinstance(transfer_progress(tty, json_output=True), NullObserver)
    assert isinstance(transfer_progress(tty), RichTransferObserver)


def test_bar_only_for_large_transfers(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    observer = RichTransferObserver(console, threshold=1000)
    observer.begin("small", 10)
    observer.advance(10)
    observer.end()
    assert out.getvalue().strip() == ""
    source = tmp_path / "blob"
    source.write_bytes(b"x" * 5000)
    LocalStore(tmp_path / "data").put(source, progress=observer)
    assert "storing blob" in out.getvalue()


def test_factory_kinds_and_uris(tmp_path: Path) -> None:
    store = open_store("local", StoreSettings(data_dir=tmp_path))
    assert isinstance(store, LocalStore) and store.data_dir == tmp_path.resolve()
    store = open_store(f"file://{tmp_path}/other", StoreSettings())
    assert store.data_dir == (tmp_path / "other").resolve()  # type: ignore[attr-defined]
    s3 = open_store("s3://bucket/some/prefix", StoreSettings(s3_endpoint_url="http://127.0.0.1:1"))
    assert (s3.bucket, s3.prefix) == ("bucket", "some/prefix")  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="--data-dir"):
        open_store("local", StoreSettings())
    with pytest.raises(UsageError, match="local, s3, ipfs"):
        open_store("ftp", StoreSettings())


def test_settings_never_show_the_ipfs_secret() -> None:
    assert "hunter2" not in repr(StoreSettings(ipfs_auth="bearer:hunter2"))


def test_s3_put_without_bucket_is_a_config_error(tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    with pytest.raises(ConfigError, match="--s3-bucket"):
        open_store("s3", StoreSettings()).put(source)
