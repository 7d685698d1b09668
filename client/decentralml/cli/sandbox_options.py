"""The sandbox options of the commands that run a task's bundle, and the runner and consent they make.

``run-task`` runs one bundle it has shown; ``contributor run`` and ``split contribute`` run
bundles they take later, so they build a :class:`~decentralml.usecases.task_runner.SandboxedRunner`
from these options and ask for consent to its policy before any slot is taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from decentralml.cli import prompts
from decentralml.cli.bounded import COUNT_MAX, finite_float, parse_size, uint
from decentralml.cli.context import RunContext
from decentralml.cli.output import UntrustedTable
from decentralml.errors import UsageError

if TYPE_CHECKING:
    from decentralml.usecases.task_runner import SandboxedRunner

MaxTimeOption = Annotated[Optional[float], finite_float(
    "Seconds the task may run (default 3600, always before the assignment deadline).", "--max-time", minimum=1)]
MemoryOption = Annotated[str, typer.Option("--memory", help="Memory per task process (RLIMIT_DATA), e.g. 4GiB; at most 2^63-1 bytes.")]
MaxProcessesOption = Annotated[int, uint(COUNT_MAX, "Processes and threads at once.", "--max-processes", minimum=1)]
MaxOutputOption = Annotated[str, typer.Option(
    "--max-output", help="Bytes the task may write (files, /tmp, stdout+stderr), e.g. 2GiB; at most 2^63-1 bytes.")]
PipArgOption = Annotated[Optional[list[str]], typer.Option(
    "--pip-arg", help="Extra argument for `pip install` of the task's requirements (repeatable), e.g. --index-url=URL.")]
ConsentOption = Annotated[bool, typer.Option(
    "--yes", "-y", help="Agree up front to run the task code under the sandbox limits shown (required without a terminal).")]
NoSandboxOption = Annotated[bool, typer.Option(
    "--no-sandbox", help="Run the task code WITHOUT the sandbox (only inside a container or VM of your own).")]


def task_runner(run: RunContext, *, no_sandbox: bool, max_time: float | None, memory: str, max_processes: int,
                max_output: str, pip_args: Sequence[str]) -> SandboxedRunner:
    """The runner of a command that runs bundles it has not shown yet (``contributor run``, ``split contribute``).

    Sandboxed (bubblewrap looked for now, so a missing one is reported before any slot is taken),
    or unsandboxed after the ``--no-sandbox`` warning.
    """
    from decentralml.cli.run_task import cache_dir
    from decentralml.sandbox import SandboxPolicy, find_bwrap
    from decentralml.usecases.run_task import reachable_without_sandbox
    from decentralml.usecases.task_runner import SandboxedRunner, UnsandboxedRunner

    policy = SandboxPolicy(wall_seconds=max_time or 3600.0, memory_bytes=parse_size(memory, "--memory"),
                           max_processes=max_processes, output_bytes=parse_size(max_output, "--max-output"))
    if no_sandbox:
        run.output.warning(reachable_without_sandbox([run.settings.data_dir, run.settings.config_path.parent]))
        return UnsandboxedRunner(policy, cache_dir(), pip_args=pip_args)
    find_bwrap()
    return SandboxedRunner(policy, cache_dir(), pip_args=pip_args)


def ask_policy_consent(run: RunContext, runner: SandboxedRunner, data: Path | None, yes: bool, *,
                       command: str, question: str) -> None:
    """Consent given before any bundle is seen: the code of the tasks ``command`` takes runs under ``runner``'s policy.

    Shows the policy and asks; ``--yes`` gives consent up front; without a terminal and without
    ``--yes`` it is a UsageError (exit 2).
    """
    if yes:
        return
    if not prompts.confirm_after(
        run.output, _policy_table(command, runner, data), question,
        what=f"{command} runs a stranger's code",
        instead=f"Review what {command} runs with (docs/sandbox.md), then rerun with --yes.",
        instead_shown="Review the limits above, then rerun with --yes.",
    ):
        raise UsageError("Not started: you declined.", hint="Nothing was taken or run.")


def _policy_table(command: str, runner: SandboxedRunner, data: Path | None) -> UntrustedTable:
    """What every task ``command`` takes runs with: code, requirements, sandbox and limits, the data."""
    from decentralml.usecases.run_task import format_bytes

    policy = runner.policy
    table = UntrustedTable(title=f"{command}: what every task it takes will run with")
    table.add_column("", style="bold")
    table.add_column("", overflow="fold")
    table.add_row("code", "the task's bundle/start_task.sh, its digest checked against the chain before each run")
    table.add_row("requirements", "installed from wheels only (no package build code runs), outside the sandbox")
    if runner.sandboxed:
        table.add_row("sandbox", "bubblewrap: no network; no home, keystore, config, SSH keys or environment secrets;"
                      " only the task's work directory writable")
        table.add_row("limits", f"time {policy.wall_seconds:.0f} s (and before the assignment deadline), memory"
                      f" {format_bytes(policy.memory_bytes)} per process, {policy.max_processes} processes,"
                      f" output {format_bytes(policy.output_bytes)}")
    else:
        table.add_row("sandbox", "NONE (--no-sandbox): time limit only")
    if data is not None:
        table.add_row("your data (read-only)", str(data.resolve()))
    return table
