"""`decentralml run-task`: run an assigned task's bundle in the sandbox (what ./start_task.sh calls)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from decentralml.cli import common, prompts
from decentralml.cli.bounded import parse_size
from decentralml.cli.context import RunContext, run_context
from decentralml.cli.output import UntrustedTable
from decentralml.cli.paths import path_parameter
from decentralml.cli.sandbox_options import MaxOutputOption, MaxProcessesOption, MaxTimeOption, MemoryOption, PipArgOption
from decentralml.errors import UsageError
from decentralml.sandbox import SandboxPolicy
from decentralml.untrusted import lines
from decentralml.usecases import run_task as usecase


def _plan_table(plan: usecase.RunPlan) -> Table:
    table = UntrustedTable(title=f"Task {plan.workdir.task_id}, submission {plan.workdir.submission_id}: what will run")
    table.add_column("", style="bold")
    table.add_column("", overflow="fold")
    table.add_row("script", f"bundle/{usecase.BUNDLE_SCRIPT} " + " ".join(plan.command_args()))
    table.add_row("directory", f"{plan.workdir.path} (writable{', as /task' if plan.sandboxed else ''})")
    total = sum(n for _, n in plan.files)
    listing = [f"{name}  {usecase.format_bytes(n)}" for name, n in plan.files[:40]]
    if len(plan.files) > 40:
        listing.append(f"... and {len(plan.files) - 40} more")
    table.add_row(f"bundle files ({len(plan.files)}, {usecase.format_bytes(total)})", lines(listing))
    table.add_row("requirements (wheels only)", lines(plan.requirements or ["(none)"]))
    policy = plan.policy
    if plan.sandboxed:
        limits = (
            f"time {policy.wall_seconds:.0f} s, memory {usecase.format_bytes(policy.memory_bytes)} per process, "
            f"{policy.max_processes} processes, output {usecase.format_bytes(policy.output_bytes)}; no network; "
            "no home, keystore, config, SSH keys or environment secrets"
        )
    else:
        limits = f"NO SANDBOX: time {policy.wall_seconds:.0f} s only"
    table.add_row("limits", limits)
    if plan.data is not None:
        table.add_row("your data (read-only)", f"{plan.data} as {plan.data_inside}")
    return table


def _ask_consent(run: RunContext, plan: usecase.RunPlan, yes: bool) -> None:
    if yes or usecase.consent_given(plan):
        return
    if not prompts.confirm_after(
        run.output, _plan_table(plan), "Run this task's code?",
        what="The task's code has not been approved for this run",
        instead="Review the bundle, then rerun with --yes.",
        instead_shown="Review the plan above and the bundle, then rerun with --yes.",
    ):
        raise UsageError("Not run: you declined.", hint="Nothing was executed.")


def run_task_cmd(
    ctx: typer.Context,
    submission_id: Annotated[int, common.submission_id_argument("Submission id (printed by assign-task).")],
    task_dir: Annotated[
        Optional[Path], path_parameter("--task-dir", help="The work directory assign-task made (default: found under --work-dir).")
    ] = None,
    work_dir: Annotated[
        Optional[Path], path_parameter("--work-dir", help="Where assign-task put the work directories (default ./decentralml-work).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before running the task's code (for scripts).")] = False,
    no_sandbox: Annotated[
        bool, typer.Option("--no-sandbox", help="Run WITHOUT the sandbox (only inside a container or VM of your own).")
    ] = False,
    data: Annotated[
        Optional[Path], path_parameter("--data", help="Your data file or directory: mounted read-only and passed as --data.")
    ] = None,
    max_time: MaxTimeOption = None,
    memory: MemoryOption = "4GiB",
    max_processes: MaxProcessesOption = 256,
    max_output: MaxOutputOption = "2GiB",
    pip_arg: PipArgOption = None,
) -> None:
    """Run an assigned task's bundle/start_task.sh in a sandbox; extra arguments go to the bundle.

    The sandbox (bubblewrap) has no network, sees none of your files but the work directory
    (writable) and --data (read-only), gets a scrubbed environment, and is stopped at its
    time, memory, process and output limits. The bundle is checked against its on-chain
    digest first, and before the first run you are shown what will run and asked.
    """
    run = run_context(ctx)
    common.exclusive(("--task-dir", task_dir), ("--work-dir", work_dir))
    policy = SandboxPolicy(
        wall_seconds=max_time or 3600.0,
        memory_bytes=parse_size(memory, "--memory"),
        max_processes=max_processes,
        output_bytes=parse_size(max_output, "--max-output"),
    )
    if task_dir is not None:
        workdir = usecase.open_workdir(task_dir.expanduser())
        if workdir.submission_id != submission_id:
            raise UsageError(f"{task_dir} holds submission {workdir.submission_id}, not {submission_id}.")
    else:
        workdir = usecase.find_workdir((work_dir or run.settings.work_dir).expanduser(), submission_id)
    with common.chain_client(run) as chain:
        left = usecase.wall_seconds_before_deadline(workdir.deadline, chain.block_number(), usecase.expected_block_ms(chain))
    if left < policy.wall_seconds:
        policy = policy.with_wall(left)
    plan = usecase.plan_run(workdir, policy, list(ctx.args), data=data, sandboxed=not no_sandbox)
    if no_sandbox:
        run.output.warning(usecase.reachable_without_sandbox([run.settings.data_dir, run.settings.config_path.parent]))
    _ask_consent(run, plan, yes)
    usecase.record_consent(plan)
    run.output.message(f"Running task {workdir.task_id} ({'sandboxed' if plan.sandboxed else 'NOT sandboxed'})...")
    done = usecase.run_task(
        plan, cache_dir(), pip_args=pip_arg or (),
        stdout=sys.stderr if run.output.json_mode else None,
    )
    run.output.message(
        f"Task finished in {done.outcome.seconds:.1f} s. Next: decentralml send-result {submission_id} RESULT_DIR "
        f"(the result is under {workdir.path})"
    )
    run.output.data(
        {**plan.to_json(), "seconds": round(done.outcome.seconds, 3), "exit_code": done.outcome.returncode, "venv": str(done.venv)},
        None,
    )


def cache_dir() -> Path:
    """Where task venvs are cached (the user's cache directory)."""
    from decentralml.usecases.task_runner import default_cache_dir

    return default_cache_dir()


def register(app: typer.Typer) -> None:
    app.command(
        "run-task",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(run_task_cmd)
