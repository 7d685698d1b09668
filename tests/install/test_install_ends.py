"""The client as a user installs it, at both ends of its dependency ranges.

For each end (``highest``: requirements/base.lock, the newest versions the
ranges admit when the lock was made; ``lowest``: requirements/lowest.lock,
``--resolution lowest-direct`` with Click at its oldest) a fresh virtualenv
gets the lock's packages and this project's wheel without the ``ml`` or
``test`` extras, and nothing from this checkout on the import path. Then
``decentralml --help``, ``decentralml devnode --tmp`` and a create-task /
assign-task / send-result / accept-result round against that node run as a
user runs them. ``pip check`` proves the lock satisfies the wheel's declared
ranges, and the versions of Typer and Click are asserted, so the two ends stay
what they claim to be.

The lock's packages are installed once into a cached venv
(``scripts/_venv.sh``, keyed on the lock's digest); each run layers a new venv
holding only the freshly built wheel on top of it (a ``.pth`` file), so the
shared cached venv is never modified.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.version import Version

from tests.fixtures.devnode import START_TIMEOUT

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.install]

ROOT = Path(__file__).resolve().parents[2]
UNIT = 10**12
_ENDPOINT = re.compile(r"RPC \(WebSocket\): (ws://127\.0\.0\.1:\d+)")
#: end -> (lock, {package: expected version}) — the versions each end must really test
ENDS = {
    "highest": ("base.lock", {}),
    "lowest": ("lowest.lock", {"typer": "0.12.0", "click": "8.0.0"}),
}
#: The highest end runs a Typer that carries its own copy of Click (0.26 and later), with no click package.
VENDORED_CLICK_TYPER = Version("0.26")


def _lock_pins(lock: Path, name: str) -> str:
    match = re.search(rf"^{re.escape(name)}==(\S+)", lock.read_text(), re.MULTILINE)
    assert match, f"{name} is not pinned in {lock.name}"
    return match.group(1)


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no PYTHONPATH, no DECENTRALML_* settings of the test run."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("DECENTRALML_")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout built as a wheel, as `pip install .` builds it."""
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source")  # a clean copy: setuptools' in-tree build/ keeps deleted modules
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "client", source / "client", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--disable-pip-version-check", "-w", str(out), str(source)],
        check=True, timeout=600, env=_clean_env(),
    )
    (built,) = out.glob("decentralml-*.whl")
    return built


def _lock_venv(name: str, lock: Path, *options: str) -> Path:
    cache = os.environ.get("DECENTRALML_CACHE") or str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "decentralml-build")
    script = f'. "{ROOT}/scripts/_venv.sh" && dml_lock_venv "$@"'
    done = subprocess.run(
        ["bash", "-c", f"set -euo pipefail; {script}", "dml_lock_venv", name, str(lock), *options],
        capture_output=True, text=True, timeout=1800,
        env=_clean_env(ROOT=str(ROOT), CACHE=cache, PY=sys.executable),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", params=sorted(ENDS))
def installed(request: pytest.FixtureRequest, wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A new venv: the end's locked packages (cached) plus this project's wheel; yields its bin/."""
    end = request.param
    lock_name, expected = ENDS[end]
    lock = ROOT / "requirements" / lock_name
    for package, version in expected.items():
        assert _lock_pins(lock, package) == version, f"{lock_name} no longer pins the {end} {package}"
    base = _lock_venv(f"ends-{end}", lock)
    venv = _layered_venv(base, wheel, tmp_path_factory.mktemp(f"venv-{end}"))
    pip = [str(base / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--python", str(venv / "bin" / "python")]
    check = subprocess.run([*pip, "check"], capture_output=True, text=True, timeout=120, env=_clean_env())
    assert check.returncode == 0, f"the {end} lock does not satisfy the declared ranges: {check.stdout}{check.stderr}"
    versions = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import importlib.metadata as m; print(m.version('typer'), m.version('click') if 'click' in "
         "{d.metadata['Name'].lower() for d in m.distributions()} else '-')"],
        capture_output=True, text=True, check=True, timeout=60, env=_clean_env(),
    ).stdout.split()
    for package, version in zip(("typer", "click"), versions):
        pinned = _lock_pins(lock, package) if version != "-" else "-"
        assert version == pinned, f"{package} {version} in the {end} venv, {pinned} in {lock_name}"
    if end == "highest":
        assert Version(versions[0]) >= VENDORED_CLICK_TYPER and versions[1] == "-", (
            f"the highest end must run a Typer with its own Click and no click package: typer {versions[0]}, click {versions[1]}")
    yield venv / "bin"


def _layered_venv(base: Path, wheel: Path, venv: Path) -> Path:
    """A new venv at ``venv``: this project's wheel installed (not editable) over ``base``'s packages (a .pth file).

    The wheel goes in before the .pth file: pip would otherwise see a copy of the package that ``base`` may
    hold and install nothing. The venv's own site-packages comes first on the import path.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    pip = [str(base / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--python", str(venv / "bin" / "python")]
    subprocess.run([*pip, "install", "--quiet", "--no-deps", str(wheel)], check=True, timeout=600, env=_clean_env())
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    base_purelib = Path(sysconfig.get_path("purelib", vars={"base": str(base), "platbase": str(base)}))
    (purelib / "_decentralml_locked.pth").write_text(f"{base_purelib}\n")
    return venv


def test_split_init_bundle_uses_the_installed_template(wheel: Path, tmp_path: Path) -> None:
    """`pip install .` (not editable) ships the split-learning bundle template: init-bundle works from any directory.

    Over the development lock's packages (PyTorch writes the initial checkpoint); the wheel's own copy of the
    package comes first on the import path.
    """
    from decentralml.cli.split import TEMPLATE_FILES

    base = _lock_venv("dev", ROOT / "requirements" / "dev.lock", "--with-package")
    bin_dir = _layered_venv(base, wheel, tmp_path / "venv") / "bin"
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import decentralml.cli.split as s; print(s.TEMPLATE)"],
        cwd=tmp_path, capture_output=True, text=True, check=True, timeout=120, env=_clean_env(),
    ).stdout.strip()
    assert where.startswith(str(tmp_path / "venv")), f"the template is not the installed one: {where}"
    out = _json(bin_dir, tmp_path, "split", "init-bundle", tmp_path / "out", env=_clean_env())
    bundle = Path(out["bundle"])
    assert {p.name for p in bundle.iterdir()} >= {*TEMPLATE_FILES, "config.json"}
    assert os.access(bundle / "start_task.sh", os.X_OK), "start_task.sh lost its executable bit in the wheel"
    assert Path(out["base_model"]).stat().st_size > 0


def _run(bin_dir: Path, cwd: Path, *args: object, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "decentralml"), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _json(bin_dir: Path, cwd: Path, *args: object, env: dict[str, str]) -> dict:
    done = _run(bin_dir, cwd, "--json", *args, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", f"--json printed on stderr: {done.stderr!r}"
    return json.loads(done.stdout)


@pytest.fixture
def devnode_url(installed: Path, tmp_path: Path) -> Iterator[str]:
    """`decentralml devnode --tmp` from the installed venv, on a port the OS picks."""
    log = tmp_path / "devnode.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(installed / "decentralml"), "devnode", "--tmp", "--rpc-port", "0"],
            cwd=tmp_path, env=_clean_env(), stdout=sink, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT * 4
        while not (match := _ENDPOINT.search(log.read_text(errors="replace"))):
            assert process.poll() is None, f"devnode exited {process.returncode}: {log.read_text()}"
            assert time.monotonic() < deadline, f"devnode did not start: {log.read_text()}"
            time.sleep(0.2)
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, log.read_text()
    assert "Dev node stopped." in log.read_text()


def test_help_lists_the_commands(installed: Path, tmp_path: Path) -> None:
    done = _run(installed, tmp_path, "--help", env=_clean_env())
    assert done.returncode == 0, done.stderr
    for command in ("create-task", "assign-task", "send-result", "accept-result", "devnode", "account"):
        assert command in done.stdout


def test_a_round_against_the_installed_devnode(installed: Path, devnode_url: str, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "start_task.sh").write_text("#!/bin/sh\necho training\n")
    result = tmp_path / "result"
    result.mkdir()
    (result / "weights.bin").write_bytes(b"\x00\x01" * 64)
    (result / "metrics.json").write_text('{"accuracy": 0.9}')
    env = _clean_env(
        DECENTRALML_URL=devnode_url,
        DECENTRALML_DATA_DIR=str(tmp_path / "data"),
        DECENTRALML_CONFIG=str(tmp_path / "config.toml"),
        DECENTRALML_STORE_DIR=str(tmp_path / "store"),
    )

    created = _json(installed, tmp_path, "--suri", "//Alice", "create-task", bundle, "--question", "One round",
                    "--reward", "2 UNIT", "--max-assignments", "1", "--validation", "manual", env=env)
    task_id = created["task_id"]
    assigned = _json(installed, tmp_path, "--suri", "//Bob", "assign-task", task_id, "--work-dir", tmp_path / "work", env=env)
    sid = assigned["submission_id"]
    assert (Path(assigned["directory"]) / "start_task.sh").is_file()
    sent = _json(installed, tmp_path, "--suri", "//Bob", "send-result", sid, result, env=env)
    assert sent["accepted"] is False
    accepted = _json(installed, tmp_path, "--suri", "//Alice", "accept-result", sid, env=env)
    assert accepted["action"] == "accepted" and accepted["reward"]["planck"] == str(2 * UNIT)
    assert accepted["task_completed"] is True

    # A failure is one line: plain text, or under --json one JSON object on stderr, with the class's exit code.
    missing = _run(installed, tmp_path, "show-task", 999, env=env)
    assert missing.returncode == 8 and missing.stdout == ""
    assert missing.stderr.startswith("Error: ") and missing.stderr.count("\n") == 1, missing.stderr
    missing = _run(installed, tmp_path, "--json", "show-task", 999, env=env)
    assert missing.returncode == 8 and missing.stdout == ""
    (line,) = missing.stderr.splitlines()
    assert json.loads(line)["error"]["type"] == "NotFoundError"
