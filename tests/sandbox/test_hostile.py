"""A hostile bundle run through the launcher on a real dev node, in the real bubblewrap sandbox.

Creator //Alice posts one task whose start_task.sh takes a probe name; //Bob takes
the slot and runs ``./start_task.sh --yes PROBE`` with his secrets in the
environment, a keystore account and an SSH key in his home. Every probe must be
blocked (the script prints LEAKED when it gets through) and leave the machine
as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SSH_SECRET = "ssh-private-key-of-bob-7f3a"
PASSWORD = "correct horse battery staple"
AWS_SECRET = "aws-secret-9d2c"

HOSTILE_SCRIPT = r"""#!/bin/bash
# A hostile task: each probe tries to get out; LEAKED means it did.
probe="$1"; shift
py="${DECENTRALML_PYTHON:-python3}"
case "$probe" in
  env)
    env | grep -E 'SURI|PASSWORD|AWS|TOKEN|SECRET' && echo "LEAKED env" ;;
  files)
    for f in "$@"; do cat "$f" 2>/dev/null && echo "LEAKED $f"; ls "$f" 2>/dev/null && echo "LEAKED $f"; done; true ;;
  inspect)
    for cmd in decentralml "$DECENTRALML_CLI_PATH"; do
      DECENTRALML_DATA_DIR="$1" DECENTRALML_PASSWORD="$2" "$cmd" account inspect bob --show-secret 2>&1 | grep -q '//Bob' && echo "LEAKED inspect"
    done
    "$py" -c "import decentralml" 2>/dev/null && echo "note: decentralml importable"; true ;;
  net)
    for port in "$@"; do
      "$py" -c "import socket,sys; s=socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=3); print('LEAKED connect', sys.argv[1])" "$port" 2>&1 | tail -1
    done; true ;;
  write)
    for f in "$@"; do echo pwned > "$f" 2>/dev/null && echo "LEAKED write $f"; done
    echo pwned > /tmp/decentralml-pwned  # the private /tmp: gone with the sandbox
    echo ok > inside.txt; true ;;
  forkbomb)
    bomb() { bomb | bomb & }; bomb; sleep 60 ;;
  memory)
    "$py" -c "b = bytearray(3 * 1024**3); print('LEAKED memory', len(b))" ;;
  time)
    sleep 120 ;;
  output)
    yes > big.txt ;;
  burst)
    for i in 1 2 3; do head -c 40000000 /dev/zero > burst$i; done ;;
  xfsz)
    head -c 60000000 /dev/zero > capped.bin; rm -f capped.bin; exit 0 ;;
  data)
    for a; do last="$a"; done
    cat "$last"; echo tampered >> "$last" 2>/dev/null && echo "LEAKED data write" ; true ;;
esac
"""


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "decentralml.cli.app", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_relative_to(root / ".cache"):
            continue  # the client's own task-venv cache, written outside the sandbox
        h.update(str(path.relative_to(root)).encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def hostile(shared_devnode, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("hostile")
    home = tmp / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(SSH_SECRET)
    data_dir = home / ".local" / "share" / "decentralml"
    bundle = tmp / "bundle"
    bundle.mkdir()
    (bundle / "start_task.sh").write_text(HOSTILE_SCRIPT)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DECENTRALML_", "AWS_"))}
    env = dict(base, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), DECENTRALML_DATA_DIR=str(data_dir),
               DECENTRALML_URL=shared_devnode.url, DECENTRALML_STORE_DIR=str(tmp / "store"),
               DECENTRALML_CONFIG=str(tmp / "config.toml"), TF_CPP_MIN_LOG_LEVEL="2")
    created = _cli(dict(env, DECENTRALML_SURI="//Alice"), "--json", "create-task", str(bundle), "--question", "hostile",
                   "--reward", "1 UNIT", "--assignment-deadline", "900", "--expires-in", "1000")
    assert created.returncode == 0, created.stderr
    task_id = json.loads(created.stdout)["task_id"]
    bob = dict(env, DECENTRALML_PASSWORD=PASSWORD, DECENTRALML_SURI="//Bob", AWS_SECRET_ACCESS_KEY=AWS_SECRET,
               GITHUB_TOKEN="ghp-token-1234")
    imported = _cli(bob, "account", "import", "bob")
    assert imported.returncode == 0, imported.stderr
    assigned = _cli(bob, "--json", "assign-task", str(task_id), "--work-dir", str(tmp / "work"))
    assert assigned.returncode == 0, assigned.stderr
    info = json.loads(assigned.stdout)
    return {"env": bob, "dir": Path(info["directory"]), "launcher": info["start_script"], "home": home,
            "data_dir": data_dir, "tmp": tmp, "node": shared_devnode}


def _launch(hostile: dict, *args: str) -> subprocess.CompletedProcess[str]:
    before = _tree_digest(hostile["home"])
    done = subprocess.run([hostile["launcher"], "--yes", *args], cwd=hostile["dir"], capture_output=True, text=True,
                          timeout=300, env=hostile["env"])
    assert "LEAKED" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert _tree_digest(hostile["home"]) == before, "the contributor's home changed"
    return done


def test_environment_secrets_are_not_passed(hostile: dict) -> None:
    done = _launch(hostile, "env")
    assert done.returncode == 15  # grep found nothing: the task's own failure, reported as such
    assert "//Bob" not in done.stdout and AWS_SECRET not in done.stdout and PASSWORD not in done.stdout


def test_keystore_and_ssh_keys_are_out_of_reach(hostile: dict) -> None:
    keystore_file = hostile["data_dir"] / "keystore" / "bob.json"
    assert keystore_file.is_file()
    done = _launch(hostile, "files", str(keystore_file), str(hostile["home"] / ".ssh" / "id_ed25519"),
                   str(hostile["home"]))
    assert done.returncode == 0, done.stderr
    assert SSH_SECRET not in done.stdout


def test_account_inspect_show_secret_gets_nothing(hostile: dict) -> None:
    done = _launch(hostile, "inspect", str(hostile["data_dir"]), PASSWORD)
    assert done.returncode == 0, done.stderr


def test_no_connection_to_the_dev_node_or_the_s3_server(hostile: dict, s3_server) -> None:  # type: ignore[no-untyped-def]
    node_port = hostile["node"].port
    s3_port = int(s3_server.endpoint_url.rsplit(":", 1)[1].split("/")[0])
    with socket.create_connection(("127.0.0.1", s3_port), timeout=3):
        pass  # reachable from outside the sandbox
    done = _launch(hostile, "net", str(node_port), str(s3_port))
    assert done.returncode == 0, done.stderr
    assert "Connection refused" in done.stdout or "Network is unreachable" in done.stdout


def test_writes_outside_the_work_directory_fail(hostile: dict) -> None:
    outside = hostile["tmp"] / "outside.txt"
    bashrc = hostile["home"] / ".bashrc"
    done = _launch(hostile, "write", str(outside), str(bashrc), "/usr/pwned", "bundle/start_task.sh",
                   "start_task.sh", ".decentralml/task.json", str(hostile["dir"] / "bundle" / "new.sh"))
    assert done.returncode == 0, done.stderr
    assert not outside.exists() and not bashrc.exists() and not Path("/tmp/decentralml-pwned").exists()
    assert (hostile["dir"] / "inside.txt").read_text() == "ok\n"
    assert "pwned" not in (hostile["dir"] / "start_task.sh").read_text()


def test_fork_bomb_is_stopped_at_the_process_limit(hostile: dict) -> None:
    done = _launch(hostile, "--max-processes", "64", "--max-time", "60", "forkbomb")
    assert done.returncode == 17, done.stderr
    assert "more than 64 processes" in done.stderr


def test_memory_blow_up_is_stopped(hostile: dict) -> None:
    done = _launch(hostile, "--memory", "512MiB", "memory")
    assert done.returncode == 17, done.stderr
    assert "memory limit (512 MiB per process)" in done.stderr


def test_time_limit(hostile: dict) -> None:
    done = _launch(hostile, "--max-time", "3", "time")
    assert done.returncode == 17, done.stderr
    assert "time limit of 3 s" in done.stderr


def test_output_limit(hostile: dict) -> None:
    done = _launch(hostile, "--max-output", "20MiB", "output")
    assert done.returncode == 17, done.stderr
    assert "output limit (20 MiB" in done.stderr
    (hostile["dir"] / "big.txt").unlink()


def test_output_written_faster_than_the_size_poll_is_caught_at_exit(hostile: dict) -> None:
    try:
        done = _launch(hostile, "--max-output", "50MiB", "burst")  # 3 x 40 MB in well under a second
        assert done.returncode == 17, done.stderr
        assert "output limit (50 MiB" in done.stderr
    finally:
        for i in (1, 2, 3):
            (hostile["dir"] / f"burst{i}").unlink(missing_ok=True)


def test_a_file_cut_by_the_file_size_limit_is_reported_even_when_the_script_exits_0(hostile: dict) -> None:
    done = _launch(hostile, "--max-output", "50MiB", "xfsz")  # head gets SIGXFSZ, the file is removed
    assert done.returncode == 17, done.stderr
    assert "output limit (50 MiB" in done.stderr
    assert not (hostile["dir"] / "capped.bin").exists()


def test_data_is_mounted_read_only_at_a_fixed_path(hostile: dict) -> None:
    data = hostile["tmp"] / "my-data.csv"
    data.write_text("1,2,3\n")
    done = _launch(hostile, "--data", str(data), "data")
    assert done.returncode == 0, done.stderr
    assert "1,2,3" in done.stdout
    assert data.read_text() == "1,2,3\n"


SETUP_PY = """
from pathlib import Path
Path({marker!r}).write_text("build code ran")
from setuptools import setup
setup(name="evilpkg", version="1.0")
"""


def test_source_only_requirement_is_refused_without_running_its_build_code(hostile: dict) -> None:
    import tarfile

    tmp = hostile["tmp"] / "source-only"
    marker = tmp / "build-code-ran"
    index = tmp / "index"
    index.mkdir(parents=True)
    src = tmp / "evilpkg-1.0"
    src.mkdir()
    (src / "setup.py").write_text(SETUP_PY.format(marker=str(marker)))
    (src / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: evilpkg\nVersion: 1.0\n")
    with tarfile.open(index / "evilpkg-1.0.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="evilpkg-1.0")
    bundle = tmp / "bundle"
    bundle.mkdir()
    (bundle / "start_task.sh").write_text("#!/bin/sh\necho ran\n")
    (bundle / "requirements.txt").write_text("evilpkg==1.0\n")
    env = dict(hostile["env"], DECENTRALML_SURI="//Alice")
    created = _cli(env, "--json", "create-task", str(bundle), "--question", "source only", "--reward", "1 UNIT")
    assert created.returncode == 0, created.stderr
    assigned = _cli(dict(env, DECENTRALML_SURI="//Charlie"), "--json", "assign-task", str(json.loads(created.stdout)["task_id"]),
                    "--work-dir", str(tmp / "work"))
    assert assigned.returncode == 0, assigned.stderr
    info = json.loads(assigned.stdout)
    done = subprocess.run([info["start_script"], "--yes", "--pip-arg=--no-index", f"--pip-arg=--find-links={index}"],
                          cwd=info["directory"], capture_output=True, text=True, timeout=300, env=hostile["env"])
    assert done.returncode == 16, done.stderr
    assert "cannot be installed from wheels" in done.stderr and "evilpkg" in done.stderr
    assert not marker.exists()
    assert "ran" not in done.stdout


def test_a_changed_bundle_is_refused(hostile: dict) -> None:
    script = hostile["dir"] / "bundle" / "start_task.sh"
    original = script.read_text()
    script.write_text(original + "\necho injected\n")
    try:
        done = subprocess.run([hostile["launcher"], "--yes", "env"], cwd=hostile["dir"], capture_output=True,
                              text=True, timeout=120, env=hostile["env"])
    finally:
        script.write_text(original)
    assert done.returncode == 14, done.stderr
    assert "no longer matches its digest on chain" in done.stderr


def test_without_consent_and_without_a_terminal_nothing_runs(hostile: dict) -> None:
    done = subprocess.run([hostile["launcher"], "--memory", "3GiB", "write", "consent-probe.txt"], cwd=hostile["dir"],
                          capture_output=True, text=True, timeout=120, env=hostile["env"], stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert "rerun with --yes" in done.stderr and "requirements" in done.stderr  # the plan was shown
    assert not (hostile["dir"] / "consent-probe.txt").exists()


def test_no_sandbox_warns_what_the_task_can_reach(hostile: dict) -> None:
    done = subprocess.run([hostile["launcher"], "--yes", "--no-sandbox", "env"], cwd=hostile["dir"], capture_output=True,
                          text=True, timeout=120, env=hostile["env"])
    assert "--no-sandbox: the task's code runs as you" in done.stderr and "~/.ssh" in done.stderr
    assert "//Bob" not in done.stdout and AWS_SECRET not in done.stdout  # the environment is still scrubbed


def test_missing_bubblewrap_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from decentralml.errors import SandboxError
    from decentralml.sandbox import bwrap

    monkeypatch.setattr(bwrap.shutil, "which", lambda name: None)
    with pytest.raises(SandboxError, match="bubblewrap") as caught:
        bwrap.find_bwrap()
    assert "Install the 'bubblewrap' package" in caught.value.one_line() and caught.value.exit_code == 16


def test_run_task_finds_the_work_directory_by_submission_id(hostile: dict) -> None:
    manifest = json.loads((hostile["dir"] / ".decentralml" / "task.json").read_text())
    done = _cli(hostile["env"], "--json", "run-task", str(manifest["submission_id"]), "--work-dir",
                str(hostile["dir"].parent), "--yes", "write", "by-id.txt")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["sandboxed"] is True and plan["arguments"] == ["write", "by-id.txt"]
    assert plan["limits"]["network"] is False and plan["exit_code"] == 0
    assert (hostile["dir"] / "by-id.txt").read_text() == "pwned\n"  # inside the work directory: allowed
    assert "pwned" not in done.stdout  # under --json the task's own output goes to stderr
    missing = _cli(hostile["env"], "run-task", "999", "--work-dir", str(hostile["dir"].parent), "--yes")
    assert missing.returncode == 2 and "No work directory for submission 999" in missing.stderr


def test_run_task_without_consent_and_without_a_terminal_runs_nothing(hostile: dict) -> None:
    """Plain: the plan, then one error line; --json: exactly one JSON line on stderr, no plan table."""
    manifest = json.loads((hostile["dir"] / ".decentralml" / "task.json").read_text())
    before = _tree_digest(hostile["dir"])
    # limits of their own: a plan no earlier test consented to (consent is remembered per exact plan; time is not part of it)
    args = ("run-task", str(manifest["submission_id"]), "--work-dir", str(hostile["dir"].parent), "--max-processes", "77")
    plain = subprocess.run([sys.executable, "-m", "decentralml.cli.app", *args], capture_output=True, text=True,
                           timeout=300, env=hostile["env"], stdin=subprocess.DEVNULL)
    assert plain.returncode == 2 and "no terminal to ask" in plain.stderr and "bundle files" in plain.stderr
    as_json = subprocess.run([sys.executable, "-m", "decentralml.cli.app", "--json", *args], capture_output=True,
                             text=True, timeout=300, env=hostile["env"], stdin=subprocess.DEVNULL)
    assert as_json.returncode == 2 and as_json.stdout == "", as_json.stderr
    assert len(as_json.stderr.splitlines()) == 1 and "--yes" in json.loads(as_json.stderr)["error"]["hint"]
    assert _tree_digest(hostile["dir"]) == before
