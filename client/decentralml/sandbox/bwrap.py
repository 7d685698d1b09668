"""The bubblewrap command line for a policy (pure: no process is started here).

bubblewrap (Debian package ``bubblewrap``, https://github.com/containers/bubblewrap)
builds the sandbox from namespaces: a new user, PID, IPC, UTS, cgroup and network
namespace (``--unshare-all``; the network namespace holds only a loopback device,
so nothing on the host, 127.0.0.1 included, can be reached), every capability
dropped, a new session (no TIOCSTI into the caller's terminal), and the process
killed when its parent (our runner) dies.

The file system inside is built from nothing: the system directories read-only,
fresh ``/proc`` and ``/dev``, a private size-limited ``/tmp``, the task's work
directory as ``/task`` (the only writable host path), the verified bundle
read-only over ``/task/bundle``, the task's virtualenv read-only at
:data:`~decentralml.sandbox.policy.VENV_DIR`, and the contributor's data
read-only under ``/data``. No home directory, keystore, configuration, SSH
keys or caches of the user are mounted.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from decentralml.errors import SandboxError
from decentralml.sandbox.policy import (
    BUNDLE_DIR,
    ETC_FILES,
    SYSTEM_DIRS,
    SYSTEM_LINKS,
    TASK_DIR,
    VENV_DIR,
    SandboxPolicy,
)

PACKAGE = "bubblewrap"


def find_bwrap() -> str:
    """The path of ``bwrap``; :class:`SandboxError` naming the package when it is missing."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxError(
            "bubblewrap (bwrap) is not installed: tasks cannot run in a sandbox.",
            hint=f"Install the '{PACKAGE}' package (Debian/Ubuntu: sudo apt-get install {PACKAGE}), "
            "or run in a container or VM of your own with --no-sandbox.",
        )
    return path


@dataclass(frozen=True)
class SandboxLayout:
    """Host paths the sandbox is built from.

    ``work_dir`` becomes ``/task`` (writable); ``bundle_dir`` (inside it) is mounted read-only
    over ``/task/bundle``; ``readonly_dirs`` are other directories inside ``work_dir`` made
    read-only; ``venv`` appears at ``VENV_DIR``; ``runtime_dirs`` (the interpreter the venv
    was made from) appear read-only at their host paths.
    """

    work_dir: Path
    bundle_dir: Path
    venv: Path | None = None
    runtime_dirs: tuple[Path, ...] = ()
    readonly_dirs: tuple[Path, ...] = ()
    ro_mounts: Mapping[Path, str] = field(default_factory=dict)


def bwrap_argv(
    bwrap: str, policy: SandboxPolicy, layout: SandboxLayout, command: Sequence[str], env: Mapping[str, str]
) -> list[str]:
    """The full ``bwrap ... -- command`` argument list (the environment is cleared and set here)."""
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox"]
    if policy.network:
        argv.append("--share-net")
    for directory in SYSTEM_DIRS:
        if Path(directory).is_dir():
            argv += ["--ro-bind", directory, directory]
    for target, link in SYSTEM_LINKS:
        if Path(link).is_symlink():
            argv += ["--symlink", target, link]
        elif Path(link).is_dir():
            argv += ["--ro-bind", link, link]
    for name in ETC_FILES:
        argv += ["--ro-bind-try", name, name]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--size", str(policy.output_bytes), "--tmpfs", "/tmp", "--dir", env.get("HOME", "/tmp/home")]
    for runtime in layout.runtime_dirs:
        argv += ["--ro-bind", str(runtime), str(runtime)]
    argv += ["--bind", str(layout.work_dir), TASK_DIR]
    argv += ["--ro-bind", str(layout.bundle_dir), BUNDLE_DIR]
    for readonly in layout.readonly_dirs:
        inside = f"{TASK_DIR}/{readonly.relative_to(layout.work_dir).as_posix()}"
        argv += ["--ro-bind", str(readonly), inside]
    if layout.venv is not None:
        argv += ["--ro-bind", str(layout.venv), VENV_DIR]
    for host, inside in {**layout.ro_mounts, **policy.ro_mounts}.items():
        argv += ["--ro-bind", str(host), inside]
    argv += ["--chdir", TASK_DIR, "--clearenv"]
    for name, value in sorted(env.items()):
        argv += ["--setenv", name, value]
    argv.append("--")
    argv += list(command)
    return argv
