"""A bundle's requirements.txt: only plain requirements reach pip, the rest is refused before anything runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from decentralml.errors import SandboxError
from decentralml.sandbox.pyenv import task_venv
from decentralml.sandbox.requirements import parse_requirements
from decentralml.sandbox.runner import UnmeasurableTree, tree_size

BACKEND = """
from pathlib import Path
Path({marker!r}).write_text("build backend ran on the host")
def get_requires_for_build_wheel(config_settings=None): return []
def prepare_metadata_for_build_wheel(d, config_settings=None): raise RuntimeError("stop")
def build_wheel(*a, **k): raise RuntimeError("stop")
"""

HASH = "sha256:" + "ab" * 32

HOSTILE = {
    "local path": "./bundle/evilpkg",
    "absolute path": "{evil}",
    "file: URL": "file://{evil}",
    "direct reference file": "evilpkg @ file://{evil}",
    "direct reference https": "evilpkg @ https://example.invalid/evilpkg-1.0.tar.gz",
    "editable": "-e ./bundle/evilpkg",
    "editable long": "--editable=./bundle/evilpkg",
    "nested requirements": "-r other.txt",
    "constraints": "-c other.txt",
    "index url": "--index-url https://example.invalid/simple",
    "short index url": "-i https://example.invalid/simple",
    "extra index url": "--extra-index-url https://example.invalid/simple",
    "no binary": "--no-binary :all:",
    "find links": "--find-links ./bundle",
    "short find links": "-f ./bundle",
    "trusted host": "--trusted-host example.invalid",
    "vcs": "git+https://example.invalid/evilpkg.git#egg=evilpkg",
    "per-requirement option": "numpy --config-settings=x=y",
    "environment variable": "numpy==${VERSION}",
    "continuation": "numpy \\",
    "bad hash": "numpy==1.26.4 --hash=md5:abc",
}


def _bundle(tmp_path: Path, line: str) -> tuple[Path, Path]:
    bundle = tmp_path / "bundle"
    evil = bundle / "evilpkg"
    evil.mkdir(parents=True)
    marker = tmp_path / "backend-ran"
    (evil / "pyproject.toml").write_text('[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n')
    (evil / "backend.py").write_text(BACKEND.format(marker=str(marker)))
    (bundle / "other.txt").write_text("./evilpkg\n")
    req = bundle / "requirements.txt"
    req.write_text("# honest comment\n\nnumpy>=1.26\n" + line.replace("{evil}", str(evil)) + "\n")
    return req, marker


@pytest.mark.parametrize("line", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_line_is_refused_before_pip_runs(tmp_path: Path, line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    req, marker = _bundle(tmp_path, line)
    monkeypatch.chdir(tmp_path)  # where "./bundle/evilpkg" resolves for pip
    cache = tmp_path / "cache"
    with pytest.raises(SandboxError) as caught:
        task_venv(req, cache)
    message = caught.value.one_line()
    assert caught.value.exit_code == 16
    assert "line 4" in message and "nothing was installed or run" in message, message
    assert "\n" not in str(caught.value)
    assert not marker.exists()
    assert not (cache / "task-venvs").exists() or not any((cache / "task-venvs").iterdir())


def test_the_qa_reproduction_line_would_run_the_backend_without_the_check(tmp_path: Path) -> None:
    """The hostile bundle is real: pip given the line directly runs the backend (so the refusals above mean something)."""
    import subprocess
    import sys

    _, marker = _bundle(tmp_path, "")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--isolated", "--no-deps", "--only-binary=:all:",
                           "--no-index", "--target", str(tmp_path / "t"), "./bundle/evilpkg"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert marker.exists(), done.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("numpy>=1.26\n", ("numpy>=1.26",)),
        ('torch; python_version>="3.9"\n', ('torch; python_version >= "3.9"',)),
        ("# only a comment\n\nscikit-learn[alldeps] ==1.4.2  # trailing comment\n", ("scikit-learn[alldeps]==1.4.2",)),
        (f"numpy==1.26.4 --hash={HASH}\n", (f"numpy==1.26.4 --hash={HASH}",)),
        (f"numpy==1.26.4 --hash {HASH} --hash={HASH}\n", (f"numpy==1.26.4 --hash={HASH} --hash={HASH}",)),
        ("", ()),
    ],
)
def test_plain_requirements_are_accepted(text: str, expected: tuple[str, ...]) -> None:
    assert tuple(str(line) for line in parse_requirements(text.encode())) == expected


def test_oversized_and_binary_files_are_refused() -> None:
    with pytest.raises(SandboxError, match="over 256 KiB"):
        parse_requirements(b"#" * (257 * 1024))
    with pytest.raises(SandboxError, match="not UTF-8"):
        parse_requirements(b"numpy\xff\n")


def test_honest_requirements_are_installed_from_the_contributors_wheels(tmp_path: Path) -> None:
    """An accepted line reaches pip (here: an empty local index, so pip's own refusal is the answer)."""
    req = tmp_path / "requirements.txt"
    req.write_text("numpy>=1.26\ntorch; python_version>='3.9' and python_version<'3.0'\n")
    venv = task_venv(req, tmp_path / "cache", pip_args=("--no-index", f"--find-links={tmp_path}"))
    assert (venv / ".complete").is_file()  # numpy is in the client environment; torch's marker is false


def test_an_unreadable_directory_is_a_violation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (tmp_path / "f").write_bytes(b"x" * 8192)
    real = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if Path(path) == hidden:  # what mode 000 does to a non-root caller
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    assert tree_size(tmp_path) >= 8192
    monkeypatch.setattr("decentralml.sandbox.runner.os.scandir", scandir)
    with pytest.raises(UnmeasurableTree):
        tree_size(tmp_path)
