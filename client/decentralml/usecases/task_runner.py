"""How a contributor node runs a task's bundle: one seam, :class:`TaskRunner`.

The node hands a runner the task's work directory (the verified bundle, with
the base model at ``base_model``), the bundle's arguments, the contributor's
data file (or None when the arguments name a shard) and a deadline; the
runner returns the result directory or raises. :class:`UnsandboxedRunner` runs
``./start_task.sh`` as a child process with this user's rights: the node
names the runner it uses in its status output, so a contributor always knows
whether a task ran contained or not.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from decentralml.errors import TrainingError, UsageError

START_SCRIPT = "start_task.sh"
RESULT_DIR = "result"
LOG_FILE = "task.log"
#: Environment variables a task never needs: the contributor's secrets stay with the node.
SECRET_VARIABLES = ("DECENTRALML_SURI", "DECENTRALML_PASSWORD", "DECENTRALML_IPFS_AUTH")
PR_SET_PDEATHSIG = 1


class TaskRunner(Protocol):
    """Runs one task's bundle to its result directory."""

    #: Shown to the contributor when the node starts and with each run.
    name: str

    def run(self, workdir: Path, args: Sequence[str], data: Path | None, deadline: float) -> Path:
        """Run the bundle in ``workdir`` with ``args`` (plus ``--data`` when given); return the result directory.

        ``deadline`` is a ``time.monotonic()`` instant: the run is stopped there and TrainingError raised.
        TrainingError also when the bundle fails (its last output in the message).
        """
        ...


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


class UnsandboxedRunner:
    """``./start_task.sh`` as a child process of the node with the node user's rights (no sandbox).

    The child dies with the node (PR_SET_PDEATHSIG), gets no DecentralML secret
    from the environment, and is killed with its process group at the deadline.
    Its output goes to ``workdir/task.log``.
    """

    name = "unsandboxed: the task's script runs as this user, with this user's files and network"

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable

    def run(self, workdir: Path, args: Sequence[str], data: Path | None, deadline: float) -> Path:
        script = workdir / "bundle" / START_SCRIPT  # assign-task's layout (docs/sandbox.md): the creator's script
        if not script.is_file():
            script = workdir / START_SCRIPT  # a bundle fetched straight into workdir
        if not script.is_file():
            raise UsageError(f"The task's bundle has no {START_SCRIPT}: nothing to run.")
        output = workdir / RESULT_DIR
        if output.exists():
            import shutil

            shutil.rmtree(output)
        command = [str(script), *args, "--output", str(output)]
        if data is not None:
            command += ["--data", str(data)]
        env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
        env.setdefault("DECENTRALML_PYTHON", self.python)
        with open(workdir / LOG_FILE, "ab") as log:
            process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
            try:
                code = process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise TrainingError("The task ran past its assignment deadline and was stopped.") from None
            except BaseException:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise
        if code != 0:
            tail = (workdir / LOG_FILE).read_bytes()[-600:].decode("utf-8", errors="replace").strip()
            raise TrainingError(f"The task's script exited with {code}: {tail.splitlines()[-1] if tail else 'no output'}")
        if not output.is_dir():
            raise TrainingError(f"The task's script wrote no {RESULT_DIR}/ directory.")
        return output
