"""CLI test harness: an isolated environment, the CLI offline, and the CLI against a shared chain.

``node_cli`` runs the CLI against ``shared_chain`` (tests/fixtures/chains.py): the shared dev node,
or the dev node and chopsticks for a test decorated with ``on_both_chains``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from decentralml.chain.client import ChainClient
from decentralml.chain.signer import keypair_from_suri
from decentralml.chain.types import Submission, Task
from decentralml.cli.app import app
from tests.fixtures.chains import Chain

ALICE = keypair_from_suri("//Alice").ss58_address
UNIT = 10**12
#: Every environment variable the CLI reads (service fixtures keep theirs, e.g. DECENTRALML_MINIO_BIN).
CLI_ENV = [f"DECENTRALML_{n}" for n in (
    "URL", "SURI", "CRYPTO", "ACCOUNT", "PASSWORD", "JSON", "QUIET", "DEBUG", "TIMEOUT", "CONFIG", "DATA_DIR",
    "STORAGE", "STORE_DIR", "S3_ENDPOINT_URL", "S3_BUCKET", "S3_PREFIX", "S3_REGION", "S3_PROFILE",
    "IPFS_API", "IPFS_AUTH")]


@dataclass
class Cli:
    """The CLI in an isolated environment with no node: for commands that never reach a chain."""

    runner: CliRunner
    tmp: Path

    def __call__(self, *args: str, input: str | None = None) -> Any:
        return self.runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)

    def json(self, *args: str) -> Any:
        result = self("--json", *args)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in CLI_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DECENTRALML_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("DECENTRALML_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(isolated_env: Path) -> Cli:
    return Cli(CliRunner(), isolated_env)


@dataclass
class NodeCli:
    """The CLI against a shared chain (``--url`` set), and a client to check the chain's state."""

    runner: CliRunner
    tmp: Path
    node: Chain

    @property
    def url(self) -> str:
        return self.node.url

    @property
    def store_dir(self) -> Path:
        return self.tmp / "store"

    def __call__(self, *args: Any, input: str | None = None) -> Any:
        return self.runner.invoke(app, ["--url", self.url, *map(str, args)], input=input, catch_exceptions=False)

    def json(self, *args: Any) -> Any:
        result = self("--json", *args)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    @contextmanager
    def chain(self) -> Iterator[ChainClient]:
        with ChainClient.connect(self.url, timeout=30) as chain:
            yield chain

    def free(self, address: str) -> int:
        with self.chain() as chain:
            return chain.balance(address).free

    def task(self, task_id: int) -> Task:
        with self.chain() as chain:
            return chain.get_task(task_id)

    def submission(self, submission_id: int) -> Submission:
        with self.chain() as chain:
            return chain.get_submission(submission_id)

    def block_number(self) -> int:
        with self.chain() as chain:
            return chain.block_number()

    def new_blocks(self, count: int) -> None:
        """Seal ``count`` empty blocks on the shared chain, to pass a deadline or an expiry."""
        self.node.new_blocks(count)


@pytest.fixture(scope="session")
def runtime_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One runtime-types cache for the session, as a user's data directory keeps it between commands."""
    return tmp_path_factory.mktemp("runtime-cache")


@pytest.fixture
def node_cli(isolated_env: Path, shared_chain: Chain, runtime_cache: Path) -> NodeCli:
    """The CLI against the shared chain; the runtime types decoded from its metadata are kept between tests."""
    data = isolated_env / "data"
    data.mkdir(exist_ok=True)
    (data / "runtime-cache").symlink_to(runtime_cache, target_is_directory=True)
    return NodeCli(CliRunner(), isolated_env, shared_chain)


@pytest.fixture
def assets(tmp_path: Path) -> Path:
    root = tmp_path / "model_contributor"
    root.mkdir()
    (root / "start_task.sh").write_text("#!/bin/sh\necho training\n")
    (root / "settings.py").write_text("EPOCHS = 1\n")
    return root


@pytest.fixture
def result_dir(tmp_path: Path) -> Path:
    root = tmp_path / "result"
    root.mkdir()
    (root / "weights.bin").write_bytes(b"\x00\x01" * 100)
    (root / "metrics.json").write_text('{"accuracy": 0.91, "loss": 0.3}')
    return root


def create(cli: NodeCli, assets: Path, suri: str, *extra: Any) -> int:
    data = cli.json("--suri", suri, "create-task", assets, "--question", "Train MNIST", "--reward", "2 UNIT", *extra)
    return int(data["task_id"])


def assign(cli: NodeCli, task_id: int, suri: str) -> dict:
    return cli.json("--suri", suri, "assign-task", str(task_id), "--work-dir", str(cli.tmp / "work" / suri[-8:]))
