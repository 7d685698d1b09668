"""A hostile split-learning bundle, taken through `split contribute`'s path on a real dev node, in real bubblewrap.

A split bundle is a stranger's code like any other task bundle: it runs through the same
:class:`~decentralml.usecases.task_runner.SandboxedRunner` as ``run-task`` and ``contributor run``.
Each probe below is a split bundle (a valid ``config.json`` and base model) whose ``start_task.sh``
tries to get out; it exits 0 and prints LEAKED only when it got through. Sandboxed, every probe
is refused with its documented exit code (15: the task failed, 17: a limit, 14: a changed
bundle). The same probes run without the sandbox do get through, which shows they are real.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from substrateinterface import Keypair

from decentralml.chain.client import ChainClient
from decentralml.chain.types import SubmissionStatus, TaskType, ValidationStrategy
from decentralml.errors import IntegrityError, TaskLimitError, TrainingError
from decentralml.fl.split.data import prepare_shards
from decentralml.fl.split.model import SplitSpec
from decentralml.fl.split.runner import BundleConfig, Protocol, write_base_model, write_config
from decentralml.fl.split.train import TrainConfig
from decentralml.sandbox import MiB, SandboxPolicy
from decentralml.storage import StoreSettings, open_store
from decentralml.usecases import TaskSpec, assign_task, create_task
from decentralml.usecases import split_learning as marketplace
from decentralml.usecases.task_runner import SandboxedRunner, UnsandboxedRunner

pytestmark = [pytest.mark.integration, pytest.mark.ml, pytest.mark.slow]

TEMPLATE = Path(__file__).resolve().parents[2] / "assets" / "split_learning" / "participant"
SECRET = "keystore-secret-5e1d"
SURI = "//Bob"
PASSWORD = "correct horse battery staple"
AWS_SECRET = "aws-secret-77b0"

# Every probe: parse the split contract (--base-model, --output, --data), try, report.
HEADER = r"""#!/bin/bash
out=result; base=""; data=""
while [ $# -gt 0 ]; do case "$1" in
  --output) out="$2"; shift 2 ;; --base-model) base="$2"; shift 2 ;; --data) data="$2"; shift 2 ;; *) shift ;;
esac; done
mkdir -p "$out"
leaked() { echo "LEAKED $*" >&2; printf '{"samples": 1}' > "$out/metrics.json"; exit 0; }
"""

PROBES = {
    "secrets": r"""
for f in @FILES@; do cat "$f" >> "$out/stolen.txt" 2>/dev/null && leaked "$f"; done
env | grep -E 'SURI|PASSWORD|AWS|SECRET' && leaked env
exit 3
""",
    "socket": r"""
(exec 3<>/dev/tcp/127.0.0.1/@PORT@) 2>/dev/null && leaked "connect @PORT@"
exit 3
""",
    "write": r"""
for f in @FILES@ "$data"; do (echo pwned >> "$f") 2>/dev/null && leaked "write $f"; done
exit 3
""",
    "previous": r"""
if [[ "$base" == previous-* ]]; then
  (echo pwned >> "$base") 2>/dev/null && leaked "write $base"
  exit 3
fi
exec bash bundle/split_start.sh --base-model "$base" --output "$out" --data "$data"
""",
    "forkbomb": r"""
bomb() { bomb | bomb & }; bomb; sleep 60
""",
    "time": r"""
sleep 120
""",
    "output": r"""
yes > big.txt
""",
    "memory": r"""
"$DECENTRALML_PYTHON" -c "b = bytearray(3 * 1024**3); print(len(b))"
""",
}


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return prepare_shards("breast_cancer", tmp_path_factory.mktemp("data"), participants=2, seed=3)


@pytest.fixture
def market(shared_devnode, tmp_path, monkeypatch):
    """The chain, a local store, and a contributor home holding secrets (files and environment)."""
    home = tmp_path / "home"
    (home / ".decentralml").mkdir(parents=True)
    (home / ".decentralml" / "config.toml").write_text(f'suri = "{SECRET}"\n')
    keystore = home / ".local" / "share" / "decentralml" / "keystore"
    keystore.mkdir(parents=True)
    (keystore / "bob.json").write_text(json.dumps({"encoded": SECRET}))
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519").write_text(SECRET)
    for name, value in (("DECENTRALML_SURI", SURI), ("DECENTRALML_PASSWORD", PASSWORD),
                        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET)):
        monkeypatch.setenv(name, value)
    chain = ChainClient.connect(shared_devnode.url)
    store = open_store("local", StoreSettings(data_dir=tmp_path / "store"))
    try:
        yield chain, store, home
    finally:
        chain.close()


def _task(chain, store, tmp: Path, probe: str, protocol: Protocol = Protocol.INITIATOR, **subst: str) -> int:
    """A split task whose bundle's start_task.sh is ``probe`` (config and base model are genuine)."""
    bundle = tmp / f"bundle-{probe}"
    bundle.mkdir(parents=True)
    for name in ("split_task.py", "requirements.txt"):
        shutil.copy2(TEMPLATE / name, bundle / name)
    shutil.copy2(TEMPLATE / "start_task.sh", bundle / "split_start.sh")
    body = HEADER + PROBES[probe]
    for key, value in subst.items():
        body = body.replace(f"@{key}@", value)
    (bundle / "start_task.sh").write_text(body)
    config = BundleConfig(protocol, SplitSpec("mlp", 30, (16, 8), 2, cut=2, seed=0), TrainConfig(epochs=2, batch_size=16))
    write_config(bundle, config)
    base = write_base_model(config, tmp / f"base-{probe}.safetensors")
    spec = TaskSpec(TaskType.MODEL_CONTRIBUTOR, f"hostile split ({probe})", 10**12, 3,
                    ValidationStrategy.MANUAL_ACCEPT, expires_in_blocks=10_000, assignment_deadline=5_000)
    return create_task(chain, Keypair.create_from_uri("//Alice"), store, spec, bundle, base_model=base).task_id


def _runner(tmp: Path, **limits: object) -> SandboxedRunner:
    return SandboxedRunner(SandboxPolicy(**limits), tmp / "cache")  # type: ignore[arg-type]


def _contribute(chain, store, tmp: Path, task_id: int, data: Path, runner: SandboxedRunner, worker: str = "//Bob"):
    return marketplace.contribute(chain, Keypair.create_from_uri(worker), task_id, lambda ref: store, store, data,
                                  tmp / f"work-{task_id}", runner=runner)


def _log(tmp: Path, task_id: int) -> str:
    return "".join(p.read_text(errors="replace") for p in (tmp / f"work-{task_id}").glob("*/task.log"))


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _secret_files(home: Path) -> list[Path]:
    return [home / ".decentralml" / "config.toml", home / ".local" / "share" / "decentralml" / "keystore" / "bob.json",
            home / ".ssh" / "id_ed25519"]


def _unsandboxed_reaches(chain, store, tmp: Path, task_id: int, data: Path) -> str:
    """The same probe without the sandbox: what it printed (LEAKED ... when it got through)."""
    assigned = assign_task(chain, Keypair.create_from_uri("//Charlie"), task_id, lambda ref: store, tmp / "control")
    marketplace.run_bundle(chain, assigned, data, marketplace._base_model(assigned), UnsandboxedRunner(SandboxPolicy(), tmp / "cache"))
    return (assigned.directory / "task.log").read_text()


def test_secrets_of_the_contributor_are_out_of_reach(market, shards, tmp_path):
    chain, store, home = market
    files = _secret_files(home)
    task_id = _task(chain, store, tmp_path, "secrets", FILES=" ".join(str(f) for f in files))
    before = _tree(home)
    with pytest.raises(TrainingError) as caught:
        _contribute(chain, store, tmp_path, task_id, shards.participants[0], _runner(tmp_path))
    assert caught.value.exit_code == 15 and "exited with status 3" in caught.value.one_line()
    log = _log(tmp_path, task_id)
    assert "LEAKED" not in log and SECRET not in log and PASSWORD not in log and AWS_SECRET not in log
    assert _tree(home) == before
    # nothing was sent: the slot is still Assigned, no result on chain
    submission = next(s for s in chain.task_submissions(task_id))
    assert submission.status is SubmissionStatus.ASSIGNED and submission.result is None

    assert f"LEAKED {files[0]}" in _unsandboxed_reaches(chain, store, tmp_path, task_id, shards.participants[0])


def test_no_socket_reaches_the_dev_node(market, shared_devnode, shards, tmp_path):
    chain, store, _ = market
    with socket.create_connection(("127.0.0.1", shared_devnode.port), timeout=3):
        pass  # reachable from outside the sandbox
    task_id = _task(chain, store, tmp_path, "socket", PORT=str(shared_devnode.port))
    with pytest.raises(TrainingError) as caught:
        _contribute(chain, store, tmp_path, task_id, shards.participants[0], _runner(tmp_path))
    assert caught.value.exit_code == 15
    assert "LEAKED" not in _log(tmp_path, task_id)
    assert "LEAKED connect" in _unsandboxed_reaches(chain, store, tmp_path, task_id, shards.participants[0])


def test_writes_outside_the_work_directory_fail(market, shards, tmp_path):
    chain, store, home = market
    outside = tmp_path / "outside.txt"
    data = tmp_path / "my-data.csv"
    shutil.copy2(shards.participants[0], data)
    targets = [outside, home / ".bashrc", *_secret_files(home), data, Path("bundle/config.json"),
               Path("bundle/base_model"), Path(".decentralml/task.json"), Path("start_task.sh"), Path("/usr/pwned")]
    task_id = _task(chain, store, tmp_path, "write", FILES=" ".join(str(t) for t in targets))
    before, data_before = _tree(home), data.read_bytes()
    with pytest.raises(TrainingError) as caught:
        _contribute(chain, store, tmp_path, task_id, data, _runner(tmp_path))
    assert caught.value.exit_code == 15
    assert "LEAKED" not in _log(tmp_path, task_id)
    assert not outside.exists() and _tree(home) == before and data.read_bytes() == data_before
    workdir = next((tmp_path / f"work-{task_id}").glob("task-*"))
    assert "pwned" not in (workdir / "start_task.sh").read_text()
    assert "pwned" not in (workdir / "bundle" / "config.json").read_text()


@pytest.mark.ml
def test_a_round_robin_turn_cannot_change_the_previous_turns_result(market, shards, tmp_path):
    """The verified previous turn sits in the work directory, read-only for the bundle."""
    chain, store, _ = market
    task_id = _task(chain, store, tmp_path, "previous", Protocol.ROUND_ROBIN)
    first = _contribute(chain, store, tmp_path, task_id, shards.participants[0], _runner(tmp_path))
    assert first.previous_submission is None
    with pytest.raises(TrainingError) as caught:
        _contribute(chain, store, tmp_path, task_id, shards.participants[1], _runner(tmp_path), worker="//Charlie")
    assert caught.value.exit_code == 15
    assert "LEAKED" not in _log(tmp_path, task_id)


@pytest.mark.parametrize(
    ("probe", "limits", "message"),
    [
        ("forkbomb", {"max_processes": 64, "wall_seconds": 60}, "more than 64 processes"),
        ("time", {"wall_seconds": 3}, "time limit of 3 s"),
        ("output", {"output_bytes": 20 * MiB}, "output limit (20 MiB"),
        ("memory", {"memory_bytes": 512 * MiB}, "memory limit (512 MiB per process)"),
    ],
)
def test_limits_stop_the_bundle_with_exit_17(market, shards, tmp_path, probe, limits, message):
    chain, store, _ = market
    task_id = _task(chain, store, tmp_path, probe)
    with pytest.raises(TaskLimitError) as caught:
        _contribute(chain, store, tmp_path, task_id, shards.participants[0], _runner(tmp_path, **limits))
    assert caught.value.exit_code == 17 and message in caught.value.one_line()


def test_a_bundle_changed_after_assignment_does_not_run(market, shards, tmp_path):
    chain, store, _ = market
    task_id = _task(chain, store, tmp_path, "write", FILES=str(tmp_path / "ran.txt"))
    bob = Keypair.create_from_uri("//Bob")
    assigned = assign_task(chain, bob, task_id, lambda ref: store, tmp_path / "work")
    script = assigned.bundle_dir / "start_task.sh"
    script.write_text(script.read_text().replace("exit 3", "touch injected.txt; exit 3"))
    with pytest.raises(IntegrityError) as caught:
        marketplace.contribute(chain, bob, task_id, lambda ref: store, store, shards.participants[0], tmp_path / "work",
                               assigned=assigned, runner=_runner(tmp_path))
    assert caught.value.exit_code == 14 and "no longer matches its digest on chain" in caught.value.one_line()
    assert not (assigned.directory / "injected.txt").exists() and not (tmp_path / "ran.txt").exists()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "decentralml.cli.app", *args], capture_output=True, text=True,
                          timeout=300, env=env, stdin=subprocess.DEVNULL)


def test_split_contribute_command(market, shared_devnode, shards, tmp_path):
    """Without --yes and without a terminal nothing is taken; with --yes the probe fails in the sandbox (exit 15)."""
    import os

    chain, store, home = market
    task_id = _task(chain, store, tmp_path, "secrets", FILES=" ".join(str(f) for f in _secret_files(home)))
    env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(tmp_path / "cache"), DECENTRALML_URL=shared_devnode.url,
               DECENTRALML_CONFIG=str(tmp_path / "config.toml"),
               DECENTRALML_DATA_DIR=str(tmp_path / "data-dir"))
    args = ["split", "contribute", str(task_id), "--data", str(shards.participants[0]), "--work-dir", str(tmp_path / "w"),
            "--data-dir", str(store.data_dir)]
    refused = _cli(env, *args)
    assert refused.returncode == 2, refused.stderr
    assert "rerun with --yes" in refused.stderr and "no network" in refused.stderr
    assert list(chain.task_submissions(task_id)) == []
    done = _cli(env, *args, "--yes")
    assert done.returncode == 15, done.stderr
    assert "LEAKED" not in done.stderr + done.stdout and SECRET not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
