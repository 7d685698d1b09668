"""The task's Python environment: built outside the sandbox from wheels only, cached, mounted read-only.

A bundle's ``requirements.txt`` is first parsed strictly
(:mod:`decentralml.sandbox.requirements`: plain ``name[extras] specifier [; marker]``
lines only — no local path, URL, ``-e``, ``-r`` or option line); the accepted
lines, normalised, are installed with ``pip install --isolated --only-binary=:all:``:
pip ignores its configuration files and ``PIP_*`` variables and takes wheels
only, so no ``setup.py`` or build backend of a package runs on the contributor's
machine (a source-only requirement is refused with a clear error). The virtualenv is layered on the interpreter running this client: a
``.pth`` file puts the client environment's site-packages after the venv's own,
so a requirement that environment already satisfies (TensorFlow, PyTorch) is
not downloaded again. The venv lives in ``<cache>/task-venvs/<key>``, where the
key is the SHA-256 of the requirements and of the interpreter's path and
version; it is built in a temporary directory and renamed when complete.
Inside the sandbox it is mounted read-only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from decentralml.errors import SandboxError
from decentralml.sandbox.requirements import RequirementLine, parse_requirements, requirements_file_text
from decentralml.untrusted import printable

PIP_TIMEOUT_S = 1800


def venv_key(requirements: bytes, python: str = sys.executable) -> str:
    """The cache key: SHA-256 over the interpreter (path, version) and the requirements text."""
    h = hashlib.sha256()
    h.update(f"{python}\0{sys.version}\0{sys.prefix}\0".encode())
    h.update(requirements)
    return h.hexdigest()[:32]


def runtime_dirs() -> tuple[Path, ...]:
    """Host directories the venv needs inside the sandbox: the base interpreter and the client environment."""
    dirs: list[Path] = []
    for raw in (sys.base_prefix, sys.prefix):
        path = Path(raw).resolve()
        if path.is_dir() and not str(path).startswith("/usr/") and path != Path("/usr") and path not in dirs:
            dirs.append(path)
    return tuple(dirs)


def _site_packages() -> list[str]:
    paths = sysconfig.get_paths()
    return sorted({paths["purelib"], paths["platlib"]})


def task_venv(requirements: Path | None, cache_dir: Path, *, pip_args: Sequence[str] = ()) -> Path:
    """The cached venv for ``requirements`` (None: no requirements), built if missing.

    ``pip_args`` (the contributor's, never the bundle's) go to ``pip install`` (e.g. ``--index-url``,
    ``--no-index --find-links DIR``). Raises SandboxError, before any process starts, when a line of
    ``requirements`` is not a plain requirement (see :func:`parse_requirements`), and when pip cannot
    install the requirements from wheels.
    """
    text = requirements.read_bytes() if requirements is not None and requirements.is_file() else b""
    accepted = parse_requirements(text)
    key = venv_key(text + "\0".join(pip_args).encode())
    final = cache_dir / "task-venvs" / key
    if (final / ".complete").is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    building = final.parent / f".{key}.{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(building)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        python = building / "bin" / "python"
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        Path(site, "_decentralml_client_env.pth").write_text("\n".join(_site_packages()) + "\n")
        if accepted:
            _pip_install(python, building, accepted, pip_args)
        (building / ".complete").write_text(key + "\n")
        try:
            os.rename(building, final)
        except OSError:
            if not (final / ".complete").is_file():
                raise
    except subprocess.CalledProcessError as exc:
        raise SandboxError(f"Cannot create the task's virtualenv: {exc.stderr or exc}.") from None
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return final


def _pip_install(python: Path, building: Path, accepted: tuple[RequirementLine, ...], pip_args: Sequence[str]) -> None:
    """pip on the accepted lines only (rewritten to a file of our own), isolated from pip's config and env."""
    checked = building / "requirements.checked.txt"
    checked.write_text(requirements_file_text(accepted))
    command = [
        str(python), "-m", "pip", "install", "--isolated", "--disable-pip-version-check", "--no-input", "--quiet",
        *pip_args, "--only-binary=:all:", "-r", str(checked),
    ]
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy")}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        raise SandboxError(f"Installing the task's requirements took over {PIP_TIMEOUT_S} s.") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        detail = printable(" ".join(lines[-3:]))[-600:]
        raise SandboxError(
            f"The task's requirements cannot be installed from wheels (no package build code is run): {detail}",
            hint="A requirement with no wheel for this platform (source only) is refused; ask the task's creator "
            "for a bundle whose requirements all have wheels.",
        )
