"""Result commands: send-result, list-results, show-result, validate-result,
accept-result, reject-result."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.table import Table

from decentralml.amounts import TokenInfo, format_amount
from decentralml.chain.pallet import MAX_SCORE
from decentralml.chain.types import AWAITING_DECISION, Submission
from decentralml.cli import common
from decentralml.cli.bounded import uint
from decentralml.cli.context import RunContext, run_context
from decentralml.cli.output import UntrustedTable
from decentralml.cli.paths import path_parameter
from decentralml.usecases import submissions

if TYPE_CHECKING:  # storage, sandbox and lineage: imported by the commands that send or decide, not by listings
    from decentralml.usecases import creator


def submission_json(submission: Submission, token: TokenInfo) -> dict[str, Any]:
    data = submission.to_json()
    data["paid"] = common.amount_json(submission.paid, token)
    data["metrics"] = submissions.result_metrics(submission)
    return data


def submissions_table(title: str, submissions: list[Submission], token: TokenInfo) -> Table:
    table = UntrustedTable(title=title)
    for column in ("ID", "Task", "Worker", "Status", "Deadline", "Result", "Score", "Paid"):
        table.add_column(column, justify="right" if column in ("ID", "Task", "Deadline", "Score") else "left")
    for s in submissions:
        table.add_row(
            str(s.submission_id),
            str(s.task_id),
            common.short(s.worker, 14),
            s.status.value,
            f"#{s.deadline}",
            common.short(s.result.uri, 40) if s.result else "-",
            f"{s.validation.score / 100:.2f}%" if s.validation else "-",
            format_amount(s.paid, token) if s.paid else "-",
        )
    return table


def submission_detail(s: Submission, token: TokenInfo) -> Table:
    table = UntrustedTable(title=f"Submission {s.submission_id}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    rows = [
        ("task", str(s.task_id)),
        ("worker", s.worker),
        ("status", s.status.value),
        ("assigned at", f"#{s.assigned_at}"),
        ("deadline", f"#{s.deadline}"),
        ("submitted at", f"#{s.submitted_at}" if s.submitted_at is not None else "-"),
        ("result", s.result.uri if s.result else "-"),
        ("result digest", "0x" + s.result.digest_hex if s.result else "-"),
        ("lineage digest", "0x" + s.lineage_digest.hex() if s.lineage_digest else "-"),
        (
            "validation",
            f"{'passed' if s.validation.passed else 'failed'}, score {s.validation.score}/{MAX_SCORE}" if s.validation else "-",
        ),
        ("paid", format_amount(s.paid, token)),
    ]
    for key, value in sorted(submissions.result_metrics(s).items()):
        rows.append((f"metric {key}", json.dumps(value)))
    for name, value in rows:
        table.add_row(name, value)
    return table


def _creator_decision(
    ctx: typer.Context, decide: Callable[[Any, Any], creator.Outcome]
) -> tuple[RunContext, creator.Outcome, TokenInfo]:
    """Sign ``decide(chain, keypair)`` as the task's creator; the run, its outcome and the chain's token."""
    run = run_context(ctx)
    keypair = common.resolve_signer(run)
    with common.chain_client(run) as chain:
        token = chain.token
        return run, decide(chain, keypair), token


def _outcome_output(run: RunContext, outcome: creator.Outcome, token: TokenInfo, text: str) -> None:
    run.output.message(text)
    run.output.data(
        {
            "action": outcome.action,
            "task_id": outcome.task_id,
            "submission_id": outcome.submission_id,
            "reward": common.amount_json(outcome.reward, token) if outcome.reward is not None else None,
            "task_completed": outcome.task_completed,
            "transaction": common.receipt_json(outcome.receipt),
        },
        f"{outcome.action} {outcome.submission_id}",
    )


@common.storage_options(upload=True)
def send_result_cmd(
    ctx: typer.Context,
    choice: common.StorageChoice,
    submission_id: Annotated[int, common.submission_id_argument("Your submission id (from assign-task).")],
    result_dir: Annotated[Path, path_parameter(help="Directory holding the result (its files are uploaded).")],
    metrics: Annotated[
        Optional[Path], path_parameter("--metrics", help="Metrics JSON file (default: RESULT_DIR/metrics.json if present).")
    ] = None,
    lineage: Annotated[
        Optional[Path], path_parameter("--lineage", help="Signed lineage record JSON (outside RESULT_DIR).")
    ] = None,
) -> None:
    """Upload RESULT_DIR and record its URI, digest and metrics on chain."""
    from decentralml.usecases import contributor

    run = run_context(ctx)
    common.require_path(result_dir, directory=True)
    metrics_data = contributor.read_metrics(metrics) if metrics is not None else None
    signed = None
    if lineage is not None:
        from decentralml.errors import UsageError
        from decentralml.lineage import SignedLineage

        try:
            raw = lineage.read_bytes()
        except OSError as exc:
            raise UsageError(f"Cannot read the lineage file {lineage}: {exc.strerror}.") from None
        signed = SignedLineage.from_json(raw)
    keypair = common.resolve_signer(run)
    with common.chain_client(run) as chain:
        token = chain.token
        store = common.upload_store(run.settings, choice)
        sent = contributor.send_result(
            chain, keypair, store, submission_id, result_dir, metrics=metrics_data, lineage=signed,
            progress=common.transfer_observer(run),
        )
    note = f" It was accepted at once and paid {format_amount(sent.reward, token)}." if sent.accepted and sent.reward else ""
    run.output.message(f"Sent the result of submission {submission_id} ({sent.result.uri}).{note}")
    run.output.data(
        {
            "task_id": sent.task_id,
            "submission_id": submission_id,
            "result": sent.result.to_json(),
            "inline_result": sent.inline_result.decode("utf-8"),
            "lineage_digest": "0x" + sent.lineage_digest.hex() if sent.lineage_digest else None,
            "accepted": sent.accepted,
            "reward": common.amount_json(sent.reward, token) if sent.reward is not None else None,
            "transaction": common.receipt_json(sent.receipt),
        },
        sent.result.uri,
    )


def list_results_cmd(
    ctx: typer.Context,
    task_id: Annotated[Optional[int], common.task_id_argument("Task id (omit with --mine).")] = None,
    mine: Annotated[bool, typer.Option("--mine", help="The signer's own submissions, across tasks.")] = False,
    pending: Annotated[bool, typer.Option("--pending", help="Only results waiting for a decision.")] = False,
) -> None:
    """List the submissions of a task (or your own with --mine)."""
    from decentralml.errors import UsageError

    run = run_context(ctx)
    if (task_id is None) == (not mine):
        raise UsageError("Pass a TASK_ID or --mine (not both).")
    worker = None
    if mine:
        worker = common.account_address(run, "--mine needs the account whose results to list")
    with common.chain_client(run) as chain:
        token = chain.token
        if task_id is not None:
            subs = submissions.pending_results(chain, task_id) if pending else chain.task_submissions(task_id)
            title = f"Results of task {task_id}"
        else:
            assert worker is not None
            subs = chain.worker_submissions(worker)
            if pending:
                subs = [s for s in subs if s.status in AWAITING_DECISION]
            title = f"Submissions of {worker}"
    if not subs:
        run.output.message("No submissions match.")
    payload = [submission_json(s, token) for s in subs] if run.output.json_mode else None  # the table needs none of it
    run.output.data(payload, submissions_table(title, subs, token) if subs else None)


@common.storage_options(upload=False)
def show_result_cmd(
    ctx: typer.Context,
    choice: common.StorageChoice,
    submission_id: common.SubmissionIdArg,
    download: Annotated[
        Optional[Path], path_parameter("--download", help="Download and verify the result into this new path.")
    ] = None,
    max_download_bytes: common.MaxDownloadOpt = None,
) -> None:
    """Show a submission; verify its lineage when it has one; --download fetches the result."""
    from decentralml.cli.lineage import lineage_table, report_to_dict
    from decentralml.usecases.lineage import inspect_result

    run = run_context(ctx)
    with common.chain_client(run) as chain:
        token = chain.token
        inspected = inspect_result(
            chain, submission_id,
            open_store=common.download_opener(run.settings, choice) if download is not None else None,
            download=download, progress=common.transfer_observer(run) if download is not None else None,
            max_bytes=max_download_bytes,
        )
    submission, downloaded, report = inspected.submission, inspected.downloaded, inspected.lineage
    payload = submission_json(submission, token)
    payload["downloaded_to"] = str(downloaded) if downloaded else None
    payload["lineage"] = report_to_dict(report) if report is not None else None
    if run.output.json_mode:
        run.output.data(payload)
        return
    run.output.data(payload, submission_detail(submission, token))
    if report is not None:
        run.output.out.print(lineage_table(report))
    if downloaded:
        run.output.message(f"Result downloaded and verified: {downloaded}")


def validate_result_cmd(
    ctx: typer.Context,
    submission_id: common.SubmissionIdArg,
    passed_flag: Annotated[bool, typer.Option("--passed", help="The result passed validation (the default).")] = False,
    failed: Annotated[bool, typer.Option("--failed", help="The result failed validation.")] = False,
    score: Annotated[int, uint(MAX_SCORE, f"Score in basis points, 0..{MAX_SCORE}.", "--score")] = MAX_SCORE,
) -> None:
    """Record the validation verdict of a result (creator only)."""
    from decentralml.usecases import creator

    common.exclusive(("--passed", passed_flag), ("--failed", failed))
    passed = not failed
    run, outcome, token = _creator_decision(
        ctx, lambda chain, keypair: creator.validate_result(chain, keypair, submission_id, passed, score)
    )
    _outcome_output(
        run, outcome, token, f"Submission {submission_id} {'passed' if passed else 'failed'} validation (score {score})."
    )


def accept_result_cmd(ctx: typer.Context, submission_id: common.SubmissionIdArg) -> None:
    """Accept a result and pay its worker from the escrow (creator only)."""
    from decentralml.usecases import creator

    run, outcome, token = _creator_decision(ctx, lambda chain, keypair: creator.accept_result(chain, keypair, submission_id))
    reward = format_amount(outcome.reward, token) if outcome.reward is not None else "the reward"
    done = f" Task {outcome.task_id} is now completed." if outcome.task_completed else ""
    _outcome_output(run, outcome, token, f"Accepted submission {submission_id}: paid {reward}.{done}")


def reject_result_cmd(ctx: typer.Context, submission_id: common.SubmissionIdArg) -> None:
    """Reject a result; its slot is freed and the escrow stays (creator only)."""
    from decentralml.usecases import creator

    run, outcome, token = _creator_decision(ctx, lambda chain, keypair: creator.reject_result(chain, keypair, submission_id))
    _outcome_output(run, outcome, token, f"Rejected submission {submission_id}; its slot is free again.")


def register(app: typer.Typer) -> None:
    app.command("send-result")(send_result_cmd)
    app.command("list-results")(list_results_cmd)
    app.command("show-result")(show_result_cmd)
    app.command("validate-result")(validate_result_cmd)
    app.command("accept-result")(accept_result_cmd)
    app.command("reject-result")(reject_result_cmd)
