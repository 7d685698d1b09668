"""Process-level limits: rlimits set in the child before ``exec`` and a cgroup ``pids.max``.

Memory is RLIMIT_DATA (heap and private writable mappings). RLIMIT_AS is not
used: PyTorch cannot even load its shared objects under a few GiB of address
space and TensorFlow reserves far more than it touches. Processes are limited
by a cgroup (v1) ``pids`` controller when one is writable (it counts only the
sandbox's tasks, and binds root too), otherwise by RLIMIT_NPROC (per user;
ignored by the kernel for root, so a root caller without a writable pids
controller is refused — see :func:`process_limiter`).
"""

from __future__ import annotations

import os
import resource
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from decentralml.errors import SandboxError

PIDS_V1 = Path("/sys/fs/cgroup/pids")


def _own_v1_path(controller: str) -> str | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    return None


@dataclass
class PidsCgroup:
    """A cgroup v1 ``pids`` group made for one run, removed by :meth:`close`."""

    path: Path

    @classmethod
    def create(cls, max_pids: int) -> PidsCgroup | None:
        own = _own_v1_path("pids")
        if own is None or not PIDS_V1.is_dir():
            return None
        parent = PIDS_V1 / own.lstrip("/")
        if not os.access(parent, os.W_OK):
            return None
        path = parent / f"decentralml-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(max_pids))
        except OSError:
            try:
                path.rmdir()
            except OSError:
                pass
            return None
        return cls(path)

    def join(self) -> None:
        """Move the calling process into the group (call in the child, before exec)."""
        with open(self.path / "cgroup.procs", "w") as handle:
            handle.write(str(os.getpid()))

    def hit_limit(self) -> bool:
        """Whether a fork was refused because of ``pids.max``."""
        try:
            for line in (self.path / "pids.events").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "max" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    def close(self) -> None:
        """Kill what is left in the group and remove it."""
        for _ in range(50):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except OSError:
                pids = []
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        try:
            self.path.rmdir()
        except OSError:
            pass


def process_limiter(max_processes: int) -> PidsCgroup | None:
    """A pids cgroup when possible; None means RLIMIT_NPROC will be used.

    Raises SandboxError for root without a writable pids controller (RLIMIT_NPROC does not bind root).
    """
    group = PidsCgroup.create(max_processes)
    if group is None and os.geteuid() == 0:
        raise SandboxError(
            "Running as root without a writable cgroup pids controller: the sandbox's process limit cannot be enforced.",
            hint="Run as a normal user, or mount the cgroup v1 pids controller at /sys/fs/cgroup/pids.",
        )
    return group


def child_setup(memory_bytes: int, output_bytes: int, max_processes: int, group: PidsCgroup | None) -> Callable[[], None]:
    """The ``preexec_fn`` that applies the limits in the child before bubblewrap starts."""

    def setup() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (output_bytes, output_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if group is not None:
            group.join()
        else:
            resource.setrlimit(resource.RLIMIT_NPROC, (max_processes, max_processes))

    return setup
