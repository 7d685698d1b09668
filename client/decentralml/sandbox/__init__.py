"""Run a stranger's task bundle in a bubblewrap sandbox.

Public API (used by ``decentralml run-task`` and the work directory's launcher)::

    policy = SandboxPolicy(wall_seconds=600, memory_bytes=4 * GiB)
    venv = task_venv(bundle / "requirements.txt", cache_dir)       # wheels only, cached
    layout = SandboxLayout(work_dir, bundle_dir=work_dir / "bundle", venv=venv, runtime_dirs=runtime_dirs())
    outcome = run_sandboxed(["/bin/bash", "bundle/start_task.sh"], layout, policy)

The threat model is in docs/sandbox.md.
"""

from decentralml.sandbox.bwrap import PACKAGE, SandboxLayout, bwrap_argv, find_bwrap
from decentralml.sandbox.policy import BUNDLE_DIR, DATA_DIR, TASK_DIR, VENV_DIR, GiB, MiB, SandboxPolicy
from decentralml.sandbox.pyenv import runtime_dirs, task_venv
from decentralml.sandbox.runner import SandboxOutcome, run_sandboxed

__all__ = [
    "BUNDLE_DIR", "DATA_DIR", "GiB", "MiB", "PACKAGE", "SandboxLayout", "SandboxOutcome", "SandboxPolicy",
    "TASK_DIR", "VENV_DIR", "bwrap_argv", "find_bwrap", "run_sandboxed", "runtime_dirs", "task_venv",
]
