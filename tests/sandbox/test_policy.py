"""The sandbox's command line, environment and limits as data (no process started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from decentralml.cli.bounded import parse_size
from decentralml.errors import UsageError
from decentralml.sandbox import SandboxLayout, SandboxPolicy, bwrap_argv
from decentralml.sandbox.policy import RLIMIT_MAX
from decentralml.usecases.run_task import wall_seconds_before_deadline

CALLER = {
    "HOME": "/home/bob", "PATH": "/home/bob/bin:/usr/bin", "LANG": "C.UTF-8", "DECENTRALML_SURI": "//Bob",
    "DECENTRALML_PASSWORD": "pw", "AWS_SECRET_ACCESS_KEY": "k", "GITHUB_TOKEN": "t", "SSH_AUTH_SOCK": "/run/agent",
    "DECENTRALML_IPFS_AUTH": "bearer:x", "PYTHONPATH": "/home/bob/src",
}


def test_environment_is_an_allow_list() -> None:
    env = SandboxPolicy(extra_env={"MY_SECRET": "x", "AWS_REGION": "eu", "DECENTRALML_GLOBAL_MODEL": "/task/m"}).environment(CALLER)
    assert env["LANG"] == "C.UTF-8" and env["HOME"] == "/tmp/home" and env["DECENTRALML_GLOBAL_MODEL"] == "/task/m"
    for name in ("DECENTRALML_SURI", "DECENTRALML_PASSWORD", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "SSH_AUTH_SOCK",
                 "DECENTRALML_IPFS_AUTH", "PYTHONPATH", "MY_SECRET", "AWS_REGION"):
        assert name not in env
    assert "/home/bob" not in env["PATH"]


def test_command_line_isolates_and_mounts_only_what_is_named(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "bundle").mkdir(parents=True)
    data = tmp_path / "d.csv"
    data.write_text("x")
    layout = SandboxLayout(work_dir=work, bundle_dir=work / "bundle", venv=tmp_path / "venv", ro_mounts={data: "/data/d.csv"})
    argv = bwrap_argv("bwrap", SandboxPolicy(), layout, ["/bin/true"], {"HOME": "/tmp/home"})
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL" and "--share-net" not in argv
    pairs = {(argv[i], argv[i + 1], argv[i + 2]) for i in range(len(argv) - 2) if argv[i] in ("--bind", "--ro-bind")}
    writable = [p for p in pairs if p[0] == "--bind"]
    assert writable == [("--bind", str(work), "/task")]
    assert ("--ro-bind", str(work / "bundle"), "/task/bundle") in pairs
    assert ("--ro-bind", str(data), "/data/d.csv") in pairs
    sources = {p[1] for p in pairs}
    assert sources - {str(work), str(work / "bundle"), str(data), str(tmp_path / "venv")} <= {"/usr", "/opt/conda"}
    assert argv[-2:] == ["--", "/bin/true"]


def test_limits_must_be_positive_and_sizes_parse() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        SandboxPolicy(memory_bytes=0)
    assert parse_size("4GiB", "--memory") == 4 << 30
    assert parse_size("512M", "--memory") == 512 << 20
    assert parse_size("1.5G", "--memory") == 3 << 29
    assert parse_size("1000", "--memory") == 1000
    for bad in ("lots", "-1G", "\uff15GiB", "\u0661\u0660"):  # digits 0-9 only, as every integer option
        with pytest.raises(UsageError, match="is not a size"):
            parse_size(bad, "--memory")


def test_sizes_are_bounded_by_what_setrlimit_takes() -> None:
    assert parse_size(str(RLIMIT_MAX), "--memory") == RLIMIT_MAX == 2**63 - 1  # exact, not rounded through a float
    assert parse_size("8388607.999999999999TiB", "--max-output") < RLIMIT_MAX
    for bad in ("0", "0.4", str(RLIMIT_MAX + 1), str(2**64 - 1), str(2**64), "99999999999999999999999GiB", "8388608TiB"):
        for option in ("--memory", "--max-output"):
            with pytest.raises(UsageError, match=rf"{option} .* is not in the range 1\.\.{RLIMIT_MAX} bytes"):
                parse_size(bad, option)
    with pytest.raises(ValueError, match="at most"):
        SandboxPolicy(memory_bytes=RLIMIT_MAX + 1)
    with pytest.raises(ValueError, match="at most"):
        SandboxPolicy(output_bytes=RLIMIT_MAX + 1)


def test_time_limit_ends_before_the_assignment_deadline() -> None:
    assert wall_seconds_before_deadline(deadline=112, current_block=100, block_ms=6000) == 60.0
    with pytest.raises(UsageError, match="too close or passed"):
        wall_seconds_before_deadline(deadline=101, current_block=100, block_ms=6000)
