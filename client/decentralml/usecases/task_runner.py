"""How a contributor node runs a task's bundle: one seam, :class:`TaskRunner`.

The node (and ``decentralml split contribute``) hands a runner the task's work directory (as ``assign-task`` lays it
out: :mod:`decentralml.usecases.run_task`), the bundle's arguments, the
contributor's data file (or None when the arguments name a shard) and a
deadline, and optionally inputs the client placed in the work directory (read-only
for the task); the runner returns the result directory or raises. Every way
this client runs a bundle goes through this seam.

:class:`SandboxedRunner` is what ``decentralml contributor run`` uses: the same
path as ``decentralml run-task`` (digests checked again, requirements installed
from wheels only into a cached venv, the bundle's script in bubblewrap under the
node's :class:`~decentralml.sandbox.SandboxPolicy`, ``--data`` mounted read-only,
the time limit ending before the assignment deadline). :class:`UnsandboxedRunner`
is the same run without bubblewrap, used only with ``contributor run --no-sandbox``.
The node names its runner in its status output, so a contributor always knows
whether a task ran contained or not.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from decentralml.errors import TrainingError, UsageError
from decentralml.sandbox import SandboxPolicy
from decentralml.usecases.run_task import format_bytes, open_workdir, plan_run, run_task

RESULT_DIR = "result"
LOG_FILE = "task.log"


class TaskRunner(Protocol):
    """Runs one task's bundle to its result directory."""

    @property
    def name(self) -> str:
        """Shown to the contributor when the node starts and with each run."""
        ...

    def run(
        self, workdir: Path, args: Sequence[str], data: Path | None, deadline: float, *, inputs: Sequence[Path] = ()
    ) -> Path:
        """Run the bundle in ``workdir`` with ``args`` (plus ``--data`` when given); return the result directory.

        ``deadline`` is a ``time.monotonic()`` instant: the run is stopped there and an error raised
        (TaskLimitError from the sandbox, TrainingError when the bundle fails). ``inputs`` are paths
        inside ``workdir`` the task reads but may not change.
        """
        ...


def default_cache_dir() -> Path:
    """Where task venvs are cached: the user's cache directory (``platformdirs``), ``decentralml``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("decentralml"))


class SandboxedRunner:
    """The bundle's ``start_task.sh`` in the bubblewrap sandbox of :mod:`decentralml.sandbox`.

    Each run: :func:`~decentralml.usecases.run_task.open_workdir` and
    :func:`~decentralml.usecases.run_task.plan_run` (bundle and base model hashed again
    against their on-chain digests; SandboxError when bubblewrap is missing), then
    :func:`~decentralml.usecases.run_task.run_task` with ``policy`` whose wall time is
    lowered to end at ``deadline``. The bundle writes ``workdir/result``; its output goes
    to ``workdir/task.log``.
    """

    sandboxed = True

    def __init__(
        self, policy: SandboxPolicy | None = None, cache_dir: Path | None = None, *, pip_args: Sequence[str] = ()
    ) -> None:
        self.policy = policy or SandboxPolicy()
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.pip_args = tuple(pip_args)

    @property
    def name(self) -> str:
        p = self.policy
        return (f"sandboxed (bubblewrap: no network, no home or keys; time ≤ {p.wall_seconds:.0f} s, "
                f"memory {format_bytes(p.memory_bytes)} per process, {p.max_processes} processes, "
                f"output {format_bytes(p.output_bytes)})")

    def run(
        self, workdir: Path, args: Sequence[str], data: Path | None, deadline: float, *, inputs: Sequence[Path] = ()
    ) -> Path:
        task = open_workdir(workdir)
        left = deadline - time.monotonic()
        if left <= 0:
            raise TrainingError("The assignment deadline is too close to run the task.")
        policy = self.policy.with_wall(min(self.policy.wall_seconds, left))
        output = task.path / RESULT_DIR
        if output.exists():  # a run cut short before a restart
            shutil.rmtree(output)
        for arg in args:
            if arg == "--output" or arg.startswith("--output="):
                raise UsageError("The node chooses the task's --output; leave it out of the bundle arguments.")
        plan = plan_run(task, policy, [*args, "--output", RESULT_DIR], data=data, sandboxed=self.sandboxed,
                        inputs=inputs)
        with open(task.path / LOG_FILE, "a", encoding="utf-8", errors="replace") as log:
            run_task(plan, self.cache_dir, pip_args=self.pip_args, stdout=log, stderr=log)
        if not output.is_dir():
            raise TrainingError(f"The task's script wrote no {RESULT_DIR}/ directory.")
        return output


class UnsandboxedRunner(SandboxedRunner):
    """``--no-sandbox``: the same run with this user's rights (environment scrubbed, time limit kept)."""

    sandboxed = False

    @property
    def name(self) -> str:
        return "UNSANDBOXED (--no-sandbox): the task's script runs as this user, with this user's files and network"
