"""Run an assigned task's bundle: verify it, show what will run, run it in the sandbox.

The work directory ``assign-task`` lays out::

    WORKDIR/start_task.sh          the launcher, written by this client (runs ``decentralml run-task``)
    WORKDIR/bundle/                the creator's bundle as downloaded (digest-checked), read-only inside
    WORKDIR/bundle/base_model      the task's base model, when it has one (digest-checked)
    WORKDIR/.decentralml/task.json what was assigned: ids, deadline, the bundle's and base model's references

``./start_task.sh ARGS`` runs ``bundle/start_task.sh ARGS`` with ``WORKDIR`` as
its current (and only writable) directory. Before each run the bundle is
hashed again and compared with the digest recorded on chain.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from decentralml.errors import IntegrityError, SandboxError, TaskLimitError, TrainingError, UsageError
from decentralml.primitives.digests import pack_digest, path_digest
from decentralml.sandbox import (
    DATA_DIR,
    SandboxLayout,
    SandboxOutcome,
    SandboxPolicy,
    find_bwrap,
    run_sandboxed,
    runtime_dirs,
    task_venv,
)
from decentralml.sandbox.requirements import parse_requirements
from decentralml.storage.reference import Reference

BUNDLE_SUBDIR = "bundle"
STATE_SUBDIR = ".decentralml"
MANIFEST = "task.json"
CONSENT = "consent.json"
LAUNCHER = "start_task.sh"
BUNDLE_SCRIPT = "start_task.sh"
REQUIREMENTS = "requirements.txt"
#: Seconds kept between the end of the time limit and the assignment deadline (to send the result).
DEADLINE_MARGIN_BLOCKS = 2


@dataclass(frozen=True)
class TaskWorkdir:
    """An assigned task's work directory, as recorded in its manifest."""

    path: Path
    task_id: int
    submission_id: int
    deadline: int
    bundle: Reference
    base_model: Reference | None = None
    base_model_name: str | None = None

    @property
    def bundle_dir(self) -> Path:
        return self.path / BUNDLE_SUBDIR

    @property
    def state_dir(self) -> Path:
        return self.path / STATE_SUBDIR

    @property
    def bundle_script(self) -> Path:
        return self.bundle_dir / BUNDLE_SCRIPT

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "submission_id": self.submission_id,
            "deadline": self.deadline,
            "bundle": self.bundle.to_json(),
            "base_model": self.base_model.to_json() if self.base_model else None,
            "base_model_name": self.base_model_name,
        }


def launcher_text(submission_id: int) -> str:
    """The client-written ``start_task.sh`` at the top of a work directory."""
    python = shlex.quote(sys.executable)
    return f"""#!/bin/sh
# Written by `decentralml assign-task`. It runs the task creator's bundle/start_task.sh
# in a sandbox (no network, no access to your home, keys or environment; see docs/sandbox.md).
# Usage: ./start_task.sh [--yes] [--no-sandbox] [--data PATH] [--max-time S] [--memory SIZE] [bundle arguments]
here="$(cd "$(dirname "$0")" && pwd)"
if [ -n "${{DECENTRALML_CLI:-}}" ]; then
  exec "$DECENTRALML_CLI" run-task {submission_id} --task-dir "$here" "$@"
elif command -v decentralml >/dev/null 2>&1; then
  exec decentralml run-task {submission_id} --task-dir "$here" "$@"
else
  exec {python} -m decentralml.cli.app run-task {submission_id} --task-dir "$here" "$@"
fi
"""


def write_layout(workdir: TaskWorkdir) -> Path:
    """Write the manifest and the launcher into ``workdir.path``; returns the launcher's path."""
    workdir.state_dir.mkdir(exist_ok=True)
    (workdir.state_dir / MANIFEST).write_text(json.dumps(workdir.to_json(), indent=2, sort_keys=True) + "\n")
    launcher = workdir.path / LAUNCHER
    launcher.write_text(launcher_text(workdir.submission_id))
    launcher.chmod(0o755)
    return launcher


def open_workdir(path: Path) -> TaskWorkdir:
    """The work directory at ``path`` (UsageError if it is not one laid out by ``assign-task``)."""
    manifest = path / STATE_SUBDIR / MANIFEST
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return TaskWorkdir(
            path=path.resolve(),
            task_id=int(data["task_id"]),
            submission_id=int(data["submission_id"]),
            deadline=int(data["deadline"]),
            bundle=Reference.from_json(data["bundle"]),
            base_model=Reference.from_json(data["base_model"]) if data.get("base_model") else None,
            base_model_name=data.get("base_model_name"),
        )
    except FileNotFoundError:
        raise UsageError(
            f"{path} is not a task work directory (no {STATE_SUBDIR}/{MANIFEST}).",
            hint="Run `decentralml assign-task TASK_ID` first, or pass the directory it printed.",
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"The manifest {manifest} is damaged ({exc}).", hint="Assign the task again.") from None


def find_workdir(work_root: Path, submission_id: int) -> TaskWorkdir:
    """The work directory of ``submission_id`` under ``work_root`` (as ``assign-task`` names it)."""
    candidates = sorted(work_root.glob(f"task-*-submission-{submission_id}")) + sorted(
        work_root.glob(f"task-*-submission-{submission_id}-*")
    )
    for candidate in candidates:
        if (candidate / STATE_SUBDIR / MANIFEST).is_file():
            workdir = open_workdir(candidate)
            if workdir.submission_id == submission_id:
                return workdir
    raise UsageError(
        f"No work directory for submission {submission_id} under {work_root}.",
        hint="Pass --task-dir DIR or --work-dir, or run `decentralml assign-task` first.",
    )


def verify_bundle(workdir: TaskWorkdir) -> None:
    """Hash the bundle (and base model) again; IntegrityError if either differs from the chain's digest."""
    bundle = workdir.bundle_dir
    if not bundle.is_dir():
        raise UsageError(f"{bundle} is missing or not a directory.", hint="Assign the task again.")
    if pack_digest(bundle, exclude=workdir.base_model_name)[0].hex() != workdir.bundle.digest_hex:
        raise IntegrityError(
            f"The bundle in {bundle} no longer matches its digest on chain (0x{workdir.bundle.digest_hex}).",
            hint="Something changed its files: assign the task again into a fresh directory.",
        )
    if workdir.base_model is not None and workdir.base_model_name:
        model = bundle / workdir.base_model_name
        if not model.exists() or path_digest(model)[0].hex() != workdir.base_model.digest_hex:
            raise IntegrityError(
                f"The base model {model} no longer matches its digest on chain (0x{workdir.base_model.digest_hex}).",
                hint="Assign the task again into a fresh directory.",
            )
    if not workdir.bundle_script.is_file():
        raise SandboxError(f"The bundle has no {BUNDLE_SCRIPT}: there is nothing to run.", hint="Follow the task's own instructions.")


@dataclass(frozen=True)
class RunPlan:
    """What a run will execute: shown to the contributor before the first run."""

    workdir: TaskWorkdir
    files: tuple[tuple[str, int], ...]
    requirements: tuple[str, ...]
    policy: SandboxPolicy
    bundle_args: tuple[str, ...]
    data: Path | None
    sandboxed: bool
    #: Inputs inside the work directory the client put there for this run (e.g. a verified
    #: previous result): read-only for the task, like the bundle.
    inputs: tuple[Path, ...] = ()

    @property
    def data_inside(self) -> str | None:
        if self.data is None:
            return None
        return f"{DATA_DIR}/{self.data.name}" if self.sandboxed else str(self.data)

    def command_args(self) -> list[str]:
        """The bundle's arguments, with ``--data`` pointing where the data appears."""
        args = list(self.bundle_args)
        if self.data_inside is not None:
            args += ["--data", self.data_inside]
        return args

    def fingerprint(self) -> str:
        """What consent covers: the bundle's digest, its requirements, the sandbox and its limits.

        The time limit is left out: it shrinks as the assignment deadline nears.
        """
        limits = {k: v for k, v in self.policy.describe().items() if k != "wall_seconds"}
        body = json.dumps(
            {"bundle": self.workdir.bundle.digest_hex, "requirements": self.requirements,
             "policy": limits, "sandboxed": self.sandboxed},
            sort_keys=True,
        )
        return hashlib.sha256(body.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "submission_id": self.workdir.submission_id,
            "task_id": self.workdir.task_id,
            "directory": str(self.workdir.path),
            "script": f"{BUNDLE_SUBDIR}/{BUNDLE_SCRIPT}",
            "arguments": self.command_args(),
            "files": [{"path": p, "bytes": n} for p, n in self.files],
            "requirements": list(self.requirements),
            "limits": self.policy.describe(),
            "sandboxed": self.sandboxed,
            "data": str(self.data) if self.data else None,
        }


def plan_run(
    workdir: TaskWorkdir,
    policy: SandboxPolicy,
    bundle_args: Sequence[str],
    *,
    data: Path | None,
    sandboxed: bool,
    inputs: Sequence[Path] = (),
) -> RunPlan:
    """Verify the bundle and describe the run (no code of the bundle runs here).

    ``inputs`` are files or directories inside the work directory that the task reads and must
    not change (mounted read-only in the sandbox). Raises SandboxError first when a sandboxed run
    is asked for and bubblewrap is missing, and when the bundle's requirements.txt has a line that
    is not a plain requirement; UsageError when an input is missing or outside the work directory.
    """
    if sandboxed:
        find_bwrap()
    verify_bundle(workdir)
    readonly = []
    for item in inputs:
        path = Path(item).resolve()
        if not path.is_relative_to(workdir.path) or path == workdir.path or not path.exists():
            raise UsageError(f"The task input {item} is missing or not inside the work directory {workdir.path}.")
        readonly.append(path)
    if data is not None and not data.exists():
        raise UsageError(f"{data} does not exist.", hint="Pass your data file or directory with --data.")
    for arg in bundle_args:
        if arg == "--data" or arg.startswith("--data="):
            raise UsageError("Pass --data before the bundle's own arguments (it is mounted read-only for the task).")
    files = []
    for path in sorted(workdir.bundle_dir.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files.append((path.relative_to(workdir.bundle_dir).as_posix(), path.stat().st_size))
    requirements: tuple[str, ...] = ()
    req = workdir.bundle_dir / REQUIREMENTS
    if req.is_file():
        requirements = tuple(str(line) for line in parse_requirements(req.read_bytes()))
    return RunPlan(workdir, tuple(files), requirements, policy, tuple(bundle_args), data.resolve() if data else None,
                   sandboxed, tuple(readonly))


def consent_given(plan: RunPlan) -> bool:
    """Whether the contributor already agreed to this exact plan (bundle, requirements, limits)."""
    try:
        recorded = json.loads((plan.workdir.state_dir / CONSENT).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and recorded.get("fingerprint") == plan.fingerprint()


def record_consent(plan: RunPlan) -> None:
    (plan.workdir.state_dir / CONSENT).write_text(json.dumps({"fingerprint": plan.fingerprint()}) + "\n")


def expected_block_ms(chain: Any) -> int:
    """Expected block time in ms: twice ``Timestamp.MinimumPeriod`` (Aura's slot duration).

    A runtime without the constant is assumed to make 6 s blocks.
    """
    try:
        return max(1, 2 * int(chain.constant("Timestamp", "MinimumPeriod")))
    except Exception:  # noqa: BLE001 - a runtime without the constant: assume 6 s blocks
        return 6000


def wall_seconds_before_deadline(deadline: int, current_block: int, block_ms: int) -> float:
    """Seconds left until ``DEADLINE_MARGIN_BLOCKS`` blocks before ``deadline`` at ``block_ms`` per block.

    Raises UsageError when that point has passed.
    """
    blocks = deadline - current_block - DEADLINE_MARGIN_BLOCKS
    if blocks <= 0:
        raise UsageError(
            f"The assignment deadline (block #{deadline}) is too close or passed (now #{current_block}).",
            hint="Take a new slot with `decentralml assign-task`.",
        )
    return blocks * block_ms / 1000.0


@dataclass(frozen=True)
class TaskRun:
    """A finished run: the sandbox outcome and where the task wrote."""

    plan: RunPlan
    outcome: SandboxOutcome
    venv: Path


_LIMIT_MESSAGES = {
    "time": "The task ran past its time limit of {wall:.0f} s and was stopped.",
    "memory": "The task went over its memory limit ({memory}) and was stopped.",
    "processes": "The task tried to run more than {procs} processes at once and was stopped.",
    "output": "The task wrote more than its output limit ({output}: stdout, stderr, its work directory and /tmp) and was stopped.",
    "unmeasurable": "The task made part of its work directory unreadable, so its output limit ({output}) cannot be checked; it was stopped.",
}
_LIMIT_HINTS = {
    "time": "The limit ends before the assignment deadline; raise --max-time only if the deadline allows it.",
    "memory": "Raise --memory if your machine has room, or decline the task.",
    "processes": "Raise --max-processes if the task needs more, or decline the task.",
    "output": "Raise --max-output if the task needs more room, or decline the task.",
    "unmeasurable": "Decline the task: a task that hides its files from the size check is not one to run.",
}


def format_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".0 ", " ")
    return f"{n} B"


def run_task(
    plan: RunPlan,
    cache_dir: Path,
    *,
    pip_args: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> TaskRun:
    """Install the requirements (wheels only, cached), then run the bundle's script.

    Sandboxed unless ``plan.sandboxed`` is False. Raises TaskLimitError when a limit stopped the
    task, TrainingError when the task exited non-zero, SandboxError when no sandbox can be built.
    """
    workdir = plan.workdir
    req = workdir.bundle_dir / REQUIREMENTS
    venv = task_venv(req if req.is_file() else None, cache_dir, pip_args=pip_args)
    command = ["/bin/bash", f"{BUNDLE_SUBDIR}/{BUNDLE_SCRIPT}", *plan.command_args()]
    if plan.sandboxed:
        layout = SandboxLayout(
            work_dir=workdir.path,
            bundle_dir=workdir.bundle_dir,
            venv=venv,
            runtime_dirs=runtime_dirs(),
            readonly_dirs=(workdir.state_dir, workdir.path / LAUNCHER, *plan.inputs),
            ro_mounts={plan.data: plan.data_inside} if plan.data is not None and plan.data_inside else {},
        )
        outcome = run_sandboxed(command, layout, plan.policy, environ=environ, stdout=stdout, stderr=stderr)
    else:
        outcome = _run_unsandboxed(command, plan, venv, environ, stdout, stderr)
    limit = outcome.limit
    if limit is not None:
        policy = plan.policy
        raise TaskLimitError(
            _LIMIT_MESSAGES[limit].format(
                wall=policy.wall_seconds, memory=format_bytes(policy.memory_bytes) + " per process",
                procs=policy.max_processes, output=format_bytes(policy.output_bytes),
            ),
            limit=limit,
            hint=_LIMIT_HINTS[limit],
        )
    if outcome.returncode != 0:
        raise TrainingError(
            f"The task's {BUNDLE_SCRIPT} exited with status {outcome.returncode}.",
            hint="Its own messages are above; the task's creator is the one to ask.",
        )
    return TaskRun(plan, outcome, venv)


def _run_unsandboxed(
    command: list[str], plan: RunPlan, venv: Path, environ: Mapping[str, str] | None,
    stdout: TextIO | None, stderr: TextIO | None,
) -> SandboxOutcome:
    """``--no-sandbox``: the same command, environment scrubbed, the time limit kept; nothing else contained."""
    import subprocess
    import time

    env = plan.policy.environment(os.environ if environ is None else environ)
    env.update(PATH=f"{venv}/bin:" + (environ or os.environ).get("PATH", "/usr/bin:/bin"),
               HOME=(environ or os.environ).get("HOME", "/tmp"), DECENTRALML_PYTHON=str(venv / "bin" / "python"))
    env.pop("XDG_CACHE_HOME", None)
    env.pop("DECENTRALML_SANDBOX", None)
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=plan.workdir.path, env=env, stdin=subprocess.DEVNULL,
                               stdout=stdout or None, stderr=stderr or None, start_new_session=True)
    try:
        returncode = process.wait(timeout=plan.policy.wall_seconds)
        limit = None
    except subprocess.TimeoutExpired:
        import signal

        os.killpg(process.pid, signal.SIGKILL)
        returncode = process.wait()
        limit = "time"
    return SandboxOutcome(returncode, limit, time.monotonic() - start, 0, "")


def reachable_without_sandbox(settings_paths: Sequence[Path]) -> str:
    """The warning for ``--no-sandbox``: what the task's code can reach."""
    where = ", ".join(str(p) for p in settings_paths)
    return (
        "--no-sandbox: the task's code runs as you, with your permissions. It can read and change every file "
        f"you can (your home, ~/.ssh, the keystore and config: {where}), use the network (the node, your S3 or "
        "IPFS servers, the internet) and start any process. Only the environment is scrubbed and the time limit "
        "kept. Use it only inside a container or VM made for this task."
    )
