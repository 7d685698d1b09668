"""`contributor run` runs a stranger's bundle in the sandbox: the node's signer and keystore stay out of reach.

//Alice posts a task whose start_task.sh gathers everything it can of the contributor's secrets (the
environment, the keystore files, ~/.ssh, `decentralml account inspect --show-secret`) into its result
directory, the one channel back that a node always opens. //Bob runs `contributor run --yes` with
DECENTRALML_SURI and DECENTRALML_PASSWORD set and a keystore account; the result must hold the probe's
marker and none of the secrets. The same bundle run with `--no-sandbox` does reach them, which shows the
probe is a real one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.devnode import start_devnode
from tests.roles.jobs import Role
from tests.sandbox.test_hostile import PASSWORD, SSH_SECRET

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MARKER = "probe-ran-4b1e"
PROBE = r"""#!/bin/bash
# A hostile task: copy whatever secrets it can reach into its result.
out=result
while [ $# -gt 0 ]; do case "$1" in --output) out="$2"; shift 2 ;; *) shift ;; esac; done
mkdir -p "$out"
{
  echo "@MARKER@"
  env
  cat "@HOME@/.ssh/id_ed25519"
  find "@DATA_DIR@" -type f -exec cat {} \;
  for cmd in decentralml "@CLI@"; do
    DECENTRALML_DATA_DIR="@DATA_DIR@" DECENTRALML_PASSWORD="@PASSWORD@" "$cmd" account inspect bob --show-secret
  done
} > "$out/probe.txt" 2>&1
true
"""


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "decentralml.cli.app", *args], capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    node = start_devnode(tmp_path_factory.mktemp("devnode"), "--block-time", "0.5")
    try:
        yield node
    finally:
        node.stop()


def _hostile_node_run(chain, tmp: Path, *node_args: str, adopt: bool = False) -> tuple[str, list[str], str]:  # type: ignore[no-untyped-def]
    """Post the probe task, run Bob's node until it ran the task; the probe's output, Bob's secrets, the node's stderr.

    ``adopt``: Bob takes the slot first with `assign-task` elsewhere and the node's journal holds only the
    intent (a node killed between its `assigning` record and the transaction's outcome).
    """
    home = tmp / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(SSH_SECRET)
    data_dir = home / ".local" / "share" / "decentralml"
    cli = Path(sys.executable).with_name("decentralml")
    bundle = tmp / "bundle"
    bundle.mkdir()
    script = PROBE
    for key, value in {"MARKER": MARKER, "HOME": str(home), "DATA_DIR": str(data_dir), "CLI": str(cli),
                       "PASSWORD": PASSWORD}.items():
        script = script.replace(f"@{key}@", value)
    (bundle / "start_task.sh").write_text(script)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DECENTRALML_", "AWS_"))}
    env = dict(base, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), DECENTRALML_DATA_DIR=str(data_dir),
               DECENTRALML_URL=chain.url, DECENTRALML_STORE_DIR=str(tmp / "store"),
               DECENTRALML_CONFIG=str(tmp / "config.toml"))
    created = _cli(dict(env, DECENTRALML_SURI="//Alice"), "--json", "create-task", str(bundle), "--question", "probe",
                   "--reward", "1 UNIT", "--assignment-deadline", "600", "--expires-in", "900")
    assert created.returncode == 0, created.stderr
    bob = dict(env, DECENTRALML_PASSWORD=PASSWORD, DECENTRALML_SURI="//Bob")
    imported = _cli(bob, "account", "import", "bob")
    assert imported.returncode == 0, imported.stderr
    keystore = [p.read_text(errors="replace") for p in data_dir.rglob("*") if p.is_file()]
    assert keystore, "the keystore account was not written"
    if adopt:
        task_id = json.loads(created.stdout)["task_id"]
        taken = _cli(bob, "--json", "assign-task", str(task_id), "--work-dir", str(tmp / "elsewhere"))
        assert taken.returncode == 0, taken.stderr
        (tmp / "node").mkdir()
        (tmp / "node" / "journal.jsonl").write_text(
            '{"type":"assigning","task_id":%d,"reward":"1","creator":"x","time":0}\n' % task_id)
    data = tmp / "data.csv"
    data.write_text("1,2,0\n")
    role = Role("bob", ["contributor", "run", "--yes", "--work-dir", str(tmp / "node"), "--data", str(data),
                        *node_args], tmp / "bob.jsonl", env=bob).start(chain.url, tmp / "store")
    try:
        ran = role.wait_for(lambda e: e.get("type") in ("ran", "failed"), timeout=240)
    finally:
        role.terminate()
    assert ran["type"] == "ran", (ran, role.stderr())
    probe = (Path(ran["result"]) / "probe.txt").read_text(errors="replace")
    return probe, ["//Bob", PASSWORD, SSH_SECRET, *keystore], role.stderr()


def test_a_hostile_bundle_cannot_read_the_nodes_signer_or_keystore(chain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    probe, secrets, _ = _hostile_node_run(chain, tmp_path)
    assert MARKER in probe, probe
    for secret in secrets:
        assert secret not in probe, f"the task read a secret of the contributor: {secret[:20]}..."


def test_without_the_sandbox_the_same_bundle_reaches_them(chain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    probe, secrets, stderr = _hostile_node_run(chain, tmp_path, "--no-sandbox")
    assert "--no-sandbox: the task's code runs as you" in stderr
    assert MARKER in probe
    assert SSH_SECRET in probe and secrets[-1] in probe, "the probe could not even read what an unsandboxed task can"


def test_an_unattended_node_refuses_to_start_without_consent(tmp_path: Path) -> None:
    """No terminal and no --yes: nothing is taken or run, exit 2, one line saying to review and pass --yes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECENTRALML_")}
    env.update(HOME=str(tmp_path), DECENTRALML_URL="ws://127.0.0.1:9", DECENTRALML_CONFIG=str(tmp_path / "c.toml"),
               COLUMNS="300")
    done = subprocess.run([sys.executable, "-m", "decentralml.cli.app", "--suri", "//Bob", "contributor", "run",
                           "--shard", "0", "--work-dir", str(tmp_path / "node")],
                          capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert "rerun with --yes" in done.stderr and "Traceback" not in done.stderr
    assert "memory 4 GiB per process" in done.stderr  # the policy it asked about was shown
    assert not (tmp_path / "node").exists()
    # under --json, stderr is the one JSON error line: no policy table before it
    done = subprocess.run([sys.executable, "-m", "decentralml.cli.app", "--json", "--suri", "//Bob", "contributor",
                           "run", "--shard", "0", "--work-dir", str(tmp_path / "node")],
                          capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and done.stdout == "", done.stderr
    error = json.loads(done.stderr)["error"]
    assert "no terminal to ask" in error["message"] and "--yes" in error["hint"]
    assert not (tmp_path / "node").exists()


def test_a_slot_taken_before_a_kill_is_adopted_into_the_assign_task_layout_and_run_sandboxed(chain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    probe, secrets, _ = _hostile_node_run(chain, tmp_path, adopt=True)
    assert MARKER in probe and "HOME=/tmp/home" in probe  # ran inside the sandbox
    for secret in secrets:
        assert secret not in probe
    records = [json.loads(line) for line in (tmp_path / "node" / "journal.jsonl").read_text().splitlines()]
    assigned = [r for r in records if r["type"] == "assigned"]
    assert len(assigned) == 1, records  # the slot taken by assign-task, adopted; no second slot
    workdir = Path(assigned[0]["directory"])
    assert workdir.parent == (tmp_path / "node" / "tasks").resolve()  # fetched again by the node, not the CLI's copy
    assert (workdir / ".decentralml" / "task.json").is_file() and (workdir / "bundle" / "start_task.sh").is_file()
    assert (workdir / "start_task.sh").read_text().startswith("#!/bin/sh\n# Written by `decentralml assign-task`")
