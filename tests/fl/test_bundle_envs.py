"""The bundles' own environments: when the given Python lacks the requirements,
``start_task.sh`` and ``setup.sh`` create a virtualenv once (keyed on
requirements.txt), install into it and reuse it.

The real requirements (TensorFlow, PyTorch) are gigabytes, so the bundle
scripts run here against a one-module wheel built by the test and found
offline (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``); the scripts themselves are
the shipped ones, unmodified.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.fl.bundles import ASSETS

PACKAGE = "dmltinyreq"


def _wheel(directory: Path) -> Path:
    """A minimal pure-Python wheel (one module) that pip installs without an index."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{PACKAGE}-1.0-py3-none-any.whl"
    files = {
        f"{PACKAGE}.py": b"MARK = 'installed from the test wheel'\n",
        f"{PACKAGE}-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: 1.0\n".encode(),
        f"{PACKAGE}-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{PACKAGE}-1.0.dist-info/RECORD,,")
    files[f"{PACKAGE}-1.0.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(directory / name, "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return directory / name


def _bare_python() -> str:
    """The interpreter this test venv was made from: none of the bundle's requirements installed."""
    base = getattr(sys, "_base_executable", None) or shutil.which("python3")
    assert base, "no base python3 found"
    probe = subprocess.run([base, "-c", f"import {PACKAGE}"], capture_output=True)
    assert probe.returncode != 0
    return base


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    wheels = tmp_path / "wheels"
    _wheel(wheels)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), PIP_DISABLE_PIP_VERSION_CHECK="1",
               XDG_CACHE_HOME=str(tmp_path / "cache"), DECENTRALML_PYTHON=_bare_python())
    return env


def test_start_task_creates_its_venv_once_and_runs_in_it(tmp_path: Path, offline_env: dict[str, str]) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(ASSETS / "model_contributor", bundle, ignore=shutil.ignore_patterns("__pycache__"))
    (bundle / "requirements.txt").write_text(f"{PACKAGE}==1.0\n")
    # stands in for model_contributor.py: proves which interpreter start_task.sh exec'd, with its arguments
    (bundle / "model_contributor.py").write_text(
        f"import sys, {PACKAGE}\nprint(sys.prefix, {PACKAGE}.MARK, *sys.argv[1:], sep='|')\n"
    )
    first = subprocess.run([str(bundle / "start_task.sh"), "--contributor-index", "1"], env=offline_env,
                           capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    prefix, mark, *args = first.stdout.strip().splitlines()[-1].split("|")
    venvs = tmp_path / "cache" / "decentralml" / "bundle-venvs"
    assert Path(prefix).parent == venvs and (Path(prefix) / ".complete").is_file()
    assert mark == "installed from the test wheel" and args == ["--contributor-index", "1"]
    assert "Installing the task's requirements" in first.stderr

    again = subprocess.run([str(bundle / "start_task.sh")], env=offline_env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().split("|")[0] == prefix and "Installing" not in again.stderr
    assert [p.name for p in venvs.iterdir()] == [Path(prefix).name]

    # another requirements.txt is another environment
    (bundle / "requirements.txt").write_text(f"{PACKAGE}>=1.0\n")
    third = subprocess.run([str(bundle / "start_task.sh")], env=offline_env, capture_output=True, text=True, timeout=600)
    assert third.returncode == 0, third.stderr
    assert len(list(venvs.iterdir())) == 2


def test_start_task_reports_a_failed_install_and_leaves_no_half_made_venv(tmp_path: Path, offline_env: dict[str, str]) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(ASSETS / "model_contributor", bundle, ignore=shutil.ignore_patterns("__pycache__"))
    (bundle / "requirements.txt").write_text("dml-no-such-package==9.9\n")
    done = subprocess.run([str(bundle / "start_task.sh")], env=offline_env, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    venvs = tmp_path / "cache" / "decentralml" / "bundle-venvs"
    assert not any((v / ".complete").exists() for v in venvs.iterdir())


def test_setup_sh_creates_the_creator_venv_once(tmp_path: Path, offline_env: dict[str, str]) -> None:
    bundle = tmp_path / "assets" / "model_creator"
    shutil.copytree(ASSETS / "model_creator", bundle, ignore=shutil.ignore_patterns("__pycache__"))
    (bundle / "requirements.txt").write_text(f"{PACKAGE}==1.0\n")
    first = subprocess.run([str(bundle / "setup.sh"), "--print-venv"], env=offline_env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    venv = Path(first.stdout.strip().splitlines()[-1])
    assert venv.parent == tmp_path / "cache" / "decentralml" / "creator-venvs" and (venv / ".complete").is_file()
    probe = subprocess.run([str(venv / "bin" / "python"), "-c", f"import {PACKAGE}; print({PACKAGE}.MARK)"],
                           capture_output=True, text=True)
    assert probe.stdout.strip() == "installed from the test wheel"
    again = subprocess.run([str(bundle / "setup.sh"), "--print-venv"], env=offline_env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and again.stdout.strip().splitlines()[-1] == str(venv)
    assert "Installing" not in again.stderr
