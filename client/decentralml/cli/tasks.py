"""Task commands: create-task, list-tasks, show-task, assign-task, close-task."""

from __future__ import annotations

import enum
import shlex
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from decentralml.amounts import TokenInfo, format_amount, parse_amount
from decentralml.chain.client import TaskFilter, TaskOrder
from decentralml.chain.pallet import MAX_BLOCK_NUMBER
from decentralml.chain.types import Task, TaskStatus, TaskType, ValidationStrategy
from decentralml.cli import common
from decentralml.cli.bounded import SIZE_MAX, uint
from decentralml.cli.context import run_context
from decentralml.cli.output import UntrustedTable
from decentralml.cli.paths import path_parameter


class TaskTypeChoice(str, enum.Enum):
    model_contributor = "model-contributor"
    data_annotators = "data-annotators"
    model_engineer = "model-engineer"

    def to_chain(self) -> TaskType:
        return {
            "model-contributor": TaskType.MODEL_CONTRIBUTOR,
            "data-annotators": TaskType.DATA_ANNOTATORS,
            "model-engineer": TaskType.MODEL_ENGINEER,
        }[self.value]


class ValidationChoice(str, enum.Enum):
    auto = "auto"
    manual = "manual"
    custom = "custom"

    def to_chain(self) -> ValidationStrategy:
        return {
            "auto": ValidationStrategy.AUTO_ACCEPT,
            "manual": ValidationStrategy.MANUAL_ACCEPT,
            "custom": ValidationStrategy.CUSTOM_ACCEPT,
        }[self.value]


class StatusChoice(str, enum.Enum):
    open = "open"
    completed = "completed"
    closed = "closed"


def task_json(task: Task, token: TokenInfo) -> dict[str, Any]:
    data = task.to_json()
    data["pays_amount"] = common.amount_json(task.pays_amount, token)
    data["paid"] = common.amount_json(task.paid, token)
    data["escrow_total"] = common.amount_json(task.escrow_total, token)
    return data


def tasks_table(tasks: list[Task], token: TokenInfo, current_block: int) -> Table:
    table = UntrustedTable(title=f"Tasks (block #{current_block})")
    for column in ("ID", "Type", "Question", "Reward", "Slots", "Validation", "Expires", "Status"):
        table.add_column(column, justify="right" if column in ("ID", "Expires") else "left")
    for task in tasks:
        table.add_row(
            str(task.task_id),
            task.task_type.value,
            common.short(task.question, 40),
            format_amount(task.pays_amount, token),
            f"{task.assigned}+{task.accepted}/{task.max_assignments}",
            task.validation_strategy.value,
            f"#{task.expiration_block}",
            task.status.value if task.expiration_block > current_block or task.status is not TaskStatus.OPEN else "Expired",
        )
    return table


def task_detail(task: Task, token: TokenInfo) -> Table:
    table = UntrustedTable(title=f"Task {task.task_id}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    rows = [
        ("status", task.status.value),
        ("type", task.task_type.value),
        ("question", task.question),
        ("creator", task.creator),
        ("reward per result", format_amount(task.pays_amount, token)),
        ("slots", f"{task.max_assignments} (assigned {task.assigned}, accepted {task.accepted}, free {task.free_slots})"),
        ("paid so far", format_amount(task.paid, token)),
        ("validation", task.validation_strategy.value),
        ("created at", f"#{task.created_at}"),
        ("expires at", f"#{task.expiration_block}"),
        ("assignment deadline", f"{task.assignment_deadline} blocks"),
        ("assets", f"{task.assets.bundle.uri}"),
        ("assets digest", "0x" + task.assets.bundle.digest_hex),
    ]
    if task.assets.base_model is not None:
        rows.append(("base model", task.assets.base_model.uri))
        rows.append(("base model digest", "0x" + task.assets.base_model.digest_hex))
    for name, value in rows:
        table.add_row(name, value)
    return table


@common.storage_options(upload=True)
def create_task_cmd(
    ctx: typer.Context,
    choice: common.StorageChoice,
    asset_dir: Annotated[Path, path_parameter(help="Directory of assets for the workers (e.g. assets/model_contributor).")],
    question: Annotated[str, typer.Option("--question", help="What the workers are asked to do.")],
    reward: common.RewardOpt,
    task_type: Annotated[TaskTypeChoice, typer.Option("--type", help="Kind of task.")] = TaskTypeChoice.model_contributor,
    max_assignments: common.MaxAssignmentsOpt = 1,
    validation: Annotated[ValidationChoice, typer.Option("--validation", help="How results are accepted.")] = ValidationChoice.manual,
    expires_in: common.ExpiresInOpt = 1000,
    assignment_deadline: Annotated[
        Optional[int],
        uint(MAX_BLOCK_NUMBER, "Blocks a worker may hold a slot without a result (default: 200, at most --expires-in minus 1).",
             "--assignment-deadline", minimum=1),
    ] = None,
    base_model: Annotated[Optional[Path], path_parameter("--base-model", help="Initial model file or directory.")] = None,
) -> None:
    """Upload ASSET_DIR, escrow the rewards and publish a task; prints the task id."""
    run = run_context(ctx)
    from decentralml.usecases import creator  # storage and lineage: only for this command
    common.require_path(asset_dir, directory=True)
    if base_model is not None:
        common.require_path(base_model)
    keypair = common.resolve_signer(run)
    with common.chain_client(run) as chain:
        token = chain.token
        spec = creator.TaskSpec(
            task_type=task_type.to_chain(),
            question=question,
            pays_amount=parse_amount(reward, token),
            max_assignments=max_assignments,
            validation_strategy=validation.to_chain(),
            expires_in_blocks=expires_in,
            assignment_deadline=assignment_deadline if assignment_deadline is not None else max(1, min(200, expires_in - 1)),
        )
        store = common.upload_store(run.settings, choice)
        created = creator.create_task(
            chain, keypair, store, spec, asset_dir, base_model=base_model, progress=common.transfer_observer(run)
        )
    run.output.message(
        f"Created task {created.task_id}: escrowed {format_amount(created.escrow, token)}, "
        f"expires at block #{created.expiration_block}; assets at {created.bundle.uri}"
    )
    run.output.data(
        {
            "task_id": created.task_id,
            "escrow": common.amount_json(created.escrow, token),
            "expiration_block": created.expiration_block,
            "assets": {
                "bundle": created.bundle.to_json(),
                "base_model": created.base_model.to_json() if created.base_model else None,
            },
            "transaction": common.receipt_json(created.receipt),
        },
        str(created.task_id),
    )


class SortChoice(str, enum.Enum):
    newest = "newest"
    oldest = "oldest"
    reward = "reward"
    expires = "expires"


DEFAULT_TABLE_ROWS = 50


def list_tasks_cmd(
    ctx: typer.Context,
    all_tasks: Annotated[bool, typer.Option("--all", help="All tasks, not only open ones.")] = False,
    mine: Annotated[bool, typer.Option("--mine", help="Only tasks created by the signer.")] = False,
    status: Annotated[Optional[StatusChoice], typer.Option("--status", help="Only tasks in this status.")] = None,
    task_type: Annotated[Optional[TaskTypeChoice], typer.Option("--type", help="Only tasks of this type.")] = None,
    limit: Annotated[
        Optional[int],
        uint(SIZE_MAX, f"At most this many rows; 0 for all (default: {DEFAULT_TABLE_ROWS} in the table, all with --json).", "--limit"),
    ] = None,
    offset: Annotated[int, uint(SIZE_MAX, "Skip this many matching rows first (next page: --offset 50).", "--offset")] = 0,
    sort: Annotated[
        SortChoice,
        typer.Option("--sort", help="Row order: newest/oldest by id read only the rows shown; reward/expires read every candidate."),
    ] = SortChoice.newest,
) -> None:
    """List tasks: the newest open ones by default."""
    run = run_context(ctx)
    creator_address = None
    if mine:
        creator_address = common.account_address(run, "--mine needs the account whose tasks to list")
    criteria = TaskFilter(
        open_only=not all_tasks and status is None and not mine,
        status=TaskStatus(status.value.capitalize()) if status else None,
        task_type=task_type.to_chain() if task_type else None,
        creator=creator_address,
    )
    rows = (None if run.output.json_mode else DEFAULT_TABLE_ROWS) if limit is None else (limit or None)
    with common.chain_client(run) as chain:
        token = chain.token
        listing = chain.iter_tasks(criteria, limit=rows, offset=offset, order=TaskOrder(sort.value))
        if run.output.json_mode:
            run.output.stream_json(task_json(t, token) for t in listing.tasks)
            return
        tasks = list(listing.tasks)
    if not tasks:
        run.output.message("No tasks match.")
        return
    run.output.data(None, tasks_table(tasks, token, listing.block_number))
    if rows is not None and len(tasks) == rows:
        run.output.message(f"Showing rows {offset + 1}-{offset + len(tasks)}; more with --offset {offset + len(tasks)} (or --limit 0 for all).")


def show_task_cmd(ctx: typer.Context, task_id: common.TaskIdArg) -> None:
    """Show one task."""
    run = run_context(ctx)
    with common.chain_client(run) as chain:
        token = chain.token
        task = chain.get_task(task_id)
    run.output.data(task_json(task, token), task_detail(task, token))


@common.storage_options(upload=False)
def assign_task_cmd(
    ctx: typer.Context,
    choice: common.StorageChoice,
    task_id: common.TaskIdArg,
    work_dir: Annotated[
        Optional[Path], path_parameter("--work-dir", help="Where the task's assets go (default ./decentralml-work).")
    ] = None,
    max_download_bytes: common.MaxDownloadOpt = None,
) -> None:
    """Take a slot of a task, download and verify its assets, print the next step."""
    run = run_context(ctx)
    from decentralml.usecases import contributor  # storage and lineage: only for this command
    keypair = common.resolve_signer(run)
    with common.chain_client(run) as chain:
        assigned = contributor.assign_task(
            chain, keypair, task_id, common.download_opener(run.settings, choice),
            (work_dir or run.settings.work_dir).expanduser(), progress=common.transfer_observer(run),
            max_bytes=max_download_bytes,
        )
    directory = str(assigned.directory)
    next_step = (
        f"cd {shlex.quote(directory)} && ./{contributor.START_SCRIPT}" if assigned.start_script else f"cd {shlex.quote(directory)}"
    )
    run.output.message(
        f"Assigned task {task_id}: submission {assigned.submission_id}, send the result before block #{assigned.deadline}."
    )
    run.output.data(
        {
            "task_id": task_id,
            "submission_id": assigned.submission_id,
            "deadline": assigned.deadline,
            "directory": directory,
            "start_script": str(assigned.start_script) if assigned.start_script else None,
            "next_step": next_step,
            "transaction": common.receipt_json(assigned.receipt),
        },
        str(assigned.submission_id) if run.output.quiet else (
            f"submission {assigned.submission_id}\nNext: {next_step}\n"
            f"Then: decentralml send-result {assigned.submission_id} RESULT_DIR"
        ),
    )


def close_task_cmd(ctx: typer.Context, task_id: common.TaskIdArg) -> None:
    """Close a task and refund the unspent escrow to its creator."""
    run = run_context(ctx)
    from decentralml.usecases import creator  # storage and lineage: only for this command
    keypair = common.resolve_signer(run)
    with common.chain_client(run) as chain:
        token = chain.token
        outcome = creator.close_task(chain, keypair, task_id)
    refund = outcome.refund
    run.output.message(
        f"Closed task {task_id}" + (f": refunded {format_amount(refund, token)} to the creator." if refund is not None else ".")
    )
    run.output.data(
        {
            "task_id": task_id,
            "refund": common.amount_json(refund, token) if refund is not None else None,
            "transaction": common.receipt_json(outcome.receipt),
        },
        f"closed {task_id}",
    )


def register(app: typer.Typer) -> None:
    app.command("create-task")(create_task_cmd)
    app.command("list-tasks")(list_tasks_cmd)
    app.command("show-task")(show_task_cmd)
    app.command("assign-task")(assign_task_cmd)
    app.command("close-task")(close_task_cmd)
