"""What a sandboxed task may use: limits, environment allow-list, mounts.

A :class:`SandboxPolicy` is plain data; :mod:`decentralml.sandbox.bwrap` turns
it into a bubblewrap command line and :mod:`decentralml.sandbox.runner`
enforces the limits bubblewrap does not (wall time, output size, processes,
memory).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

GiB = 1 << 30
MiB = 1 << 20

#: Where things appear inside the sandbox (fixed, whatever the host paths are).
TASK_DIR = "/task"
BUNDLE_DIR = "/task/bundle"
DATA_DIR = "/data"
VENV_DIR = "/opt/decentralml/venv"
HOME_DIR = "/tmp/home"

#: Host directories mounted read-only (the system, nothing of a user). Missing ones are skipped.
SYSTEM_DIRS: tuple[str, ...] = ("/usr", "/opt/conda")
#: Debian's merged-/usr links, recreated as symbolic links inside.
SYSTEM_LINKS: tuple[tuple[str, str], ...] = (("usr/bin", "/bin"), ("usr/lib", "/lib"), ("usr/lib64", "/lib64"), ("usr/sbin", "/sbin"))
#: Single files of /etc a program may need (dynamic loader cache, time zone, locale); not passwd, not hosts.
ETC_FILES: tuple[str, ...] = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/alternatives", "/etc/mime.types")

#: Variables copied from the caller's environment when set; everything else is dropped.
ENV_ALLOWED: tuple[str, ...] = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "COLUMNS", "LINES", "OMP_NUM_THREADS")
#: Names never passed, even if a caller adds them to ``extra_env`` (secrets of this client and of storage).
ENV_FORBIDDEN_PREFIXES: tuple[str, ...] = ("DECENTRALML_SURI", "DECENTRALML_PASSWORD", "DECENTRALML_IPFS_AUTH", "AWS_")


def _forbidden(name: str) -> bool:
    upper = name.upper()
    return upper.startswith(ENV_FORBIDDEN_PREFIXES) or any(w in upper for w in ("TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"))


#: The largest memory or output limit in bytes: the sandbox applies both with setrlimit, and
#: Python's ``resource.setrlimit`` takes a limit as a C ``long long`` (``RLIM_INFINITY`` is -1
#: there), so 2^63-1 is the largest finite limit it can set.
RLIMIT_MAX = (1 << 63) - 1


@dataclass(frozen=True)
class SandboxPolicy:
    """Limits and visibility of one sandboxed run.

    Attributes:
        wall_seconds: the run is stopped after this many seconds (the caller lowers it to end
            before the assignment deadline).
        memory_bytes: RLIMIT_DATA of every process in the sandbox (heap and private writable
            mappings; address-space reservations are not counted, so TensorFlow and PyTorch
            work under it, which RLIMIT_AS would break).
        max_processes: processes and threads the sandbox may hold at once (a cgroup ``pids.max``
            when a pids controller is writable, else RLIMIT_NPROC).
        output_bytes: the most the task may write: per file (RLIMIT_FSIZE), in total in its work
            directory and on its private /tmp, and on stdout + stderr together.
        network: False (always, unless ``--no-sandbox``): a new, empty network namespace.
        extra_env: variables the caller sets inside (after the allow-list and the forbidden names).
        ro_mounts: extra host paths mounted read-only, host path -> path inside.
    """

    wall_seconds: float = 3600.0
    memory_bytes: int = 4 * GiB
    max_processes: int = 256
    output_bytes: int = 2 * GiB
    network: bool = False
    extra_env: Mapping[str, str] = field(default_factory=dict)
    ro_mounts: Mapping[Path, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.wall_seconds <= 0 or self.memory_bytes <= 0 or self.max_processes <= 0 or self.output_bytes <= 0:
            raise ValueError("sandbox limits must be positive")
        if self.memory_bytes > RLIMIT_MAX or self.output_bytes > RLIMIT_MAX:
            raise ValueError(f"sandbox memory and output limits are at most {RLIMIT_MAX} bytes (setrlimit)")

    def with_wall(self, seconds: float) -> SandboxPolicy:
        return replace(self, wall_seconds=seconds)

    def environment(self, caller: Mapping[str, str]) -> dict[str, str]:
        """The environment inside: the allow-list from ``caller``, fixed paths, then ``extra_env``.

        Secret-looking names (``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``, ``AWS_*``, our signer
        variables) are dropped even when a caller lists them.
        """
        env = {name: caller[name] for name in ENV_ALLOWED if name in caller}
        env.update(
            PATH=f"{VENV_DIR}/bin:/usr/local/bin:/usr/bin:/bin",
            HOME=HOME_DIR,
            TMPDIR="/tmp",
            XDG_CACHE_HOME=f"{HOME_DIR}/.cache",
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONNOUSERSITE="1",
            DECENTRALML_PYTHON=f"{VENV_DIR}/bin/python",
            DECENTRALML_SANDBOX="1",
        )
        env.update({k: v for k, v in self.extra_env.items() if not _forbidden(k)})
        return env

    def describe(self) -> dict[str, object]:
        """The limits as JSON-ready data (shown before a run)."""
        return {
            "wall_seconds": round(self.wall_seconds, 1),
            "memory_bytes": self.memory_bytes,
            "max_processes": self.max_processes,
            "output_bytes": self.output_bytes,
            "network": self.network,
        }
