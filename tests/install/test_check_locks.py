"""scripts/check_locks.py: a lock that no longer satisfies pyproject.toml is reported."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _check_locks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_locks", ROOT / "scripts" / "check_locks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROJECT = {
    "dependencies": ["typer>=0.12,<0.30", "numpy>=1.26", "colorama; platform_system == 'Nowhere'"],
    "optional-dependencies": {"test": ["pytest>=8"]},
}
LOCK = "typer==0.29.2 \\\n    --hash=sha256:00\nnumpy==2.4.6 \\\n    --hash=sha256:00\npytest==9.0.0\n"


def test_a_lock_that_satisfies_the_ranges_passes() -> None:
    assert _check_locks().problems(PROJECT, "test.lock", LOCK) == []


def test_a_pin_outside_its_range_or_missing_is_reported() -> None:
    check = _check_locks()
    outside = LOCK.replace("typer==0.29.2", "typer==0.30.0")
    assert check.problems(PROJECT, "base.lock", outside) == [
        "requirements/base.lock: typer==0.30.0 is outside <0.30,>=0.12 (rerun scripts/lock.sh)."
    ]
    assert check.problems(PROJECT, "test.lock", LOCK.replace("pytest==9.0.0\n", "")) == [
        "requirements/test.lock: pytest is not in the lock (rerun scripts/lock.sh)."
    ]


def test_the_committed_locks_satisfy_pyproject() -> None:
    assert _check_locks().main() == 0
