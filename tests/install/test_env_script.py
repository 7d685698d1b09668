"""scripts/_env.sh sets up the development venv without changing the shell options of the shell that sources it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bash(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_sourcing_it_leaves_the_caller_s_options_as_they_were() -> None:
    options = '$-/pipefail-$(shopt -qo pipefail && echo on || echo off)'
    done = _bash(f'set +euo pipefail; before="{options}"; . scripts/_env.sh; status=$?; '
                 f'echo "$status $before {options} $VIRTUAL_ENV"; false; echo "still here"')
    status, before, after, venv = done.stdout.splitlines()[0].split(" ", 3)
    assert (status, after) == ("0", before), done.stdout + done.stderr
    assert Path(venv, "bin", "python").exists() and "still here" in done.stdout


def test_a_failed_setup_returns_non_zero_and_stops_a_strict_script(tmp_path: Path) -> None:
    failing = {"DECENTRALML_CACHE": str(tmp_path / "cache"), "PYTHON": "/bin/false"}
    lenient = _bash('. scripts/_env.sh; echo "status $? options $-"', **failing)
    assert "status 1 options hB" in lenient.stdout, lenient.stdout + lenient.stderr
    assert "could not set up the development environment" in lenient.stderr
    strict = _bash('set -euo pipefail; . scripts/_env.sh; echo "not reached"', **failing)
    assert strict.returncode != 0 and "not reached" not in strict.stdout
