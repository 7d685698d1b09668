"""Run a command in the sandbox, enforce the limits, say which one stopped it.

:func:`run_sandboxed` starts ``bwrap`` with the rlimits and the pids cgroup of
:mod:`decentralml.sandbox.limits`, streams the task's stdout and stderr to the
caller (control characters made visible: the task's bytes never drive the
terminal), and stops the whole sandbox (SIGKILL to bubblewrap; the PID
namespace dies with it) when the wall time, the output budget (stdout + stderr,
the work directory's growth, the private /tmp) is exceeded. A run that ends
with a memory or process-limit failure is reported as such.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from decentralml.errors import SandboxError
from decentralml.sandbox.bwrap import SandboxLayout, bwrap_argv, find_bwrap
from decentralml.sandbox.limits import child_setup, process_limiter
from decentralml.sandbox.policy import SandboxPolicy
from decentralml.untrusted import printable

POLL_S = 0.1
SIZE_POLL_S = 1.0
_TAIL = 64 * 1024
_MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory", "OOM")
_OUTPUT_SIGNS = ("File too large", "File size limit exceeded")  # EFBIG (strerror) / SIGXFSZ (the shell's report)
_PROCESS_SIGNS = ("Resource temporarily unavailable", "BlockingIOError", "can't start new thread", "fork: retry")


@dataclass(frozen=True)
class SandboxOutcome:
    """How a sandboxed run ended.

    ``limit`` is None, "time", "memory", "processes", "output" or "unmeasurable" (a directory of
    the work directory could not be listed, so its size cannot be checked); ``returncode`` is the
    task's exit status (negative: killed by that signal); ``stderr_tail`` the last 64 KiB.
    """

    returncode: int
    limit: str | None
    seconds: float
    output_bytes: int
    stderr_tail: str


class UnmeasurableTree(Exception):
    """A directory under the measured tree could not be listed (the task may hide bytes there)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def tree_size(path: Path, skip: tuple[Path, ...] = ()) -> int:
    """Bytes allocated to regular files under ``path`` (st_blocks × 512; links not followed), ``skip`` excluded.

    Raises UnmeasurableTree when a directory under ``path`` cannot be listed: an unreadable
    directory is a violation of the output limit, not something to skip.
    """
    total = 0
    stack = [path]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if Path(entry.path) not in skip:
                            stack.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
        except FileNotFoundError:
            continue  # removed while being measured: its bytes are gone too
        except OSError:
            raise UnmeasurableTree(str(current)) from None
    return total


class _Pump(threading.Thread):
    """Copies one pipe to a text stream, counting bytes, stopping at the budget."""

    def __init__(self, pipe: object, sink: TextIO | None, budget: Callable[[int], bool], keep_tail: bool) -> None:
        super().__init__(daemon=True)
        self.pipe = pipe
        self.sink = sink
        self.budget = budget
        self.tail = b""
        self.keep_tail = keep_tail

    def run(self) -> None:
        read = self.pipe.read1  # type: ignore[attr-defined]
        while True:
            chunk = read(65536)
            if not chunk:
                return
            if self.keep_tail:
                self.tail = (self.tail + chunk)[-_TAIL:]
            if not self.budget(len(chunk)):
                continue  # over budget: drain without printing; the runner stops the task
            if self.sink is not None:
                self.sink.write(printable(chunk.decode("utf-8", "replace"), keep_newlines=True))
                self.sink.flush()


def run_sandboxed(
    command: Sequence[str],
    layout: SandboxLayout,
    policy: SandboxPolicy,
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> SandboxOutcome:
    """Run ``command`` (argv inside the sandbox, e.g. ``["/bin/bash", "bundle/start_task.sh"]``).

    ``environ`` is the caller's environment the allow-list is taken from (default: ``os.environ``);
    output goes to ``stdout``/``stderr`` (default: this process's). Raises SandboxError when the
    sandbox cannot be built (bubblewrap missing, root without a pids controller); limits hit are
    reported in the outcome, not raised.
    """
    bwrap = find_bwrap()
    env = policy.environment(os.environ if environ is None else environ)
    argv = bwrap_argv(bwrap, policy, layout, command, env)
    try:
        base_size = tree_size(layout.work_dir, skip=(layout.bundle_dir,))
    except UnmeasurableTree as exc:
        raise SandboxError(f"Cannot measure the work directory: {printable(exc.path)} is unreadable.",
                           hint="Make it readable or assign the task into a fresh directory.") from None
    group = process_limiter(policy.max_processes)
    written = 0
    over = threading.Event()
    lock = threading.Lock()

    def budget(n: int) -> bool:
        nonlocal written
        with lock:
            written += n
            if written > policy.output_bytes:
                over.set()
                return False
            return True

    start = time.monotonic()
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            preexec_fn=child_setup(policy.memory_bytes, policy.output_bytes, policy.max_processes, group),
            start_new_session=True,
        )
    except BaseException:
        if group is not None:
            group.close()
        raise
    pumps = [
        _Pump(process.stdout, stdout or sys.stdout, budget, keep_tail=False),
        _Pump(process.stderr, stderr or sys.stderr, budget, keep_tail=True),
    ]
    for pump in pumps:
        pump.start()
    limit: str | None = None
    next_size_check = start + SIZE_POLL_S
    try:
        while process.poll() is None:
            now = time.monotonic()
            if now - start > policy.wall_seconds:
                limit = "time"
            elif over.is_set():
                limit = "output"
            elif group is not None and group.hit_limit():
                limit = "processes"
            elif now >= next_size_check:
                next_size_check = now + SIZE_POLL_S
                limit = _work_dir_limit(layout, base_size, policy.output_bytes)
            if limit is not None:
                _kill(process)
                break
            time.sleep(POLL_S)
        returncode = process.wait()
        if limit is None:
            limit = _work_dir_limit(layout, base_size, policy.output_bytes)  # the last second before exit
        for pump in pumps:
            pump.join(timeout=5)
    except BaseException:
        _kill(process)
        raise
    finally:
        if group is not None:
            processes_hit = group.hit_limit()
            group.close()
        else:
            processes_hit = False
    tail = pumps[1].tail.decode("utf-8", "replace")
    if limit is None and over.is_set():
        limit = "output"
    if limit is None and (returncode in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ) or any(s in tail for s in _OUTPUT_SIGNS)):
        limit = "output"  # RLIMIT_FSIZE hit, even when the script went on and exited 0
    if limit is None and returncode != 0:
        if processes_hit or (group is None and any(sign in tail for sign in _PROCESS_SIGNS)):
            limit = "processes"
        elif any(sign in tail for sign in _MEMORY_SIGNS) or (returncode in (-signal.SIGSEGV, -signal.SIGABRT) and "alloc" in tail):
            limit = "memory"
    return SandboxOutcome(
        returncode=returncode,
        limit=limit,
        seconds=time.monotonic() - start,
        output_bytes=written,
        stderr_tail=tail,
    )


def _work_dir_limit(layout: SandboxLayout, base_size: int, output_bytes: int) -> str | None:
    """"output" when the work directory grew past ``output_bytes``, "unmeasurable" when it cannot be measured."""
    try:
        grown = tree_size(layout.work_dir, skip=(layout.bundle_dir,)) - base_size
    except UnmeasurableTree:
        return "unmeasurable"
    return "output" if grown > output_bytes else None


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL bubblewrap's session; --die-with-parent and the PID namespace take the rest."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
