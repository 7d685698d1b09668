"""Federated-learning commands: ``federate`` (aggregate a round, optionally open the next) and
``evaluate-results`` (run the creator's validation on pending results; CustomAccept decides on chain)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from decentralml.amounts import format_amount, parse_amount
from decentralml.chain.pallet import MAX_ASSIGNMENTS, MAX_BLOCK_NUMBER
from decentralml.cli import common
from decentralml.cli.bounded import amount, uint
from decentralml.cli.context import run_context
from decentralml.cli.output import UntrustedTable
from decentralml.cli.paths import path_parameter
from decentralml.errors import UsageError
from decentralml.primitives.staging import check_new_outputs
from decentralml.untrusted import clip

BundleOpt = Annotated[
    Path,
    path_parameter("--creator-bundle", envvar="DECENTRALML_CREATOR_BUNDLE",
                 help="Your creator bundle (the directory with model_creator.py): its evaluation and validation run here."),
]
WorkDirOpt = Annotated[
    Optional[Path], path_parameter("--work-dir", help="Where results are downloaded (default ./decentralml-work).")
]


class StrategyChoice(str, enum.Enum):
    fedavg = "fedavg"
    median = "median"
    trimmed_mean = "trimmed-mean"
    krum = "krum"


def _bundle(path: Path) -> Any:
    from decentralml.fl.bundle import load_creator_bundle

    common.require_path(path, directory=True)
    return load_creator_bundle(path)


def _report_json(report: Any) -> dict[str, Any]:
    return {
        "passed": report.passed,
        "reason": report.reason,
        "accuracy": report.evaluation.accuracy if report.evaluation else None,
        "loss": report.evaluation.loss if report.evaluation else None,
        "score": report.score_bp,
        "num_samples": report.metrics.num_samples if report.metrics else None,
        "reported_accuracy": report.metrics.accuracy if report.metrics else None,
    }


@common.storage_options(upload=False)
def evaluate_results_cmd(
    ctx: typer.Context,
    choice: common.StorageChoice,
    task_id: common.TaskIdArg,
    creator_bundle: BundleOpt = Path("model_creator"),
    decide: Annotated[
        Optional[bool],
        typer.Option("--decide/--no-decide", help="Accept/reject on chain (default: only for CustomAccept tasks)."),
    ] = None,
    work_dir: WorkDirOpt = None,
    max_download_bytes: common.MaxDownloadOpt = None,
) -> None:
    """Evaluate each pending result with your validation function; CustomAccept tasks are judged on chain."""
    from decentralml.usecases.federation import judge_pending

    run = run_context(ctx)
    bundle = _bundle(creator_bundle)
    keypair = common.resolve_signer(run)
    with common.chain_client(run) as chain:
        token = chain.token
        with run.output.status(f"Evaluating the pending results of task {task_id}..."):
            judgements = judge_pending(
                chain, keypair, task_id, bundle, common.download_opener(run.settings, choice),
                (work_dir or run.settings.work_dir).expanduser(), decide=decide, progress=common.transfer_observer(run),
                max_result_bytes=max_download_bytes,
            )
    if not judgements:
        run.output.message(f"Task {task_id} has no pending result.")
    table = UntrustedTable(title=f"Pending results of task {task_id}")
    for column in ("Submission", "Worker", "Held-out acc.", "Samples", "Verdict", "Decision", "Why"):
        table.add_column(column)
    for j in judgements:
        acc = f"{j.report.evaluation.accuracy:.2%}" if j.report.evaluation else "-"
        samples = str(j.report.metrics.num_samples) if j.report.metrics else "-"
        table.add_row(str(j.submission_id), common.short(j.worker, 14), acc, samples,
                      "pass" if j.report.passed else "fail", j.decision, j.report.reason)
    run.output.data(
        [
            {
                "submission_id": j.submission_id,
                "worker": j.worker,
                "decision": j.decision,
                "reward": common.amount_json(j.reward, token) if j.reward is not None else None,
                **_report_json(j.report),
            }
            for j in judgements
        ],
        table if judgements else None,
    )


@common.storage_options(upload=True)
def federate_cmd(
    ctx: typer.Context,
    choice: common.StorageChoice,
    task_id: Annotated[int, common.task_id_argument("The round's task id.")],
    creator_bundle: BundleOpt = Path("model_creator"),
    strategy: Annotated[StrategyChoice, typer.Option("--strategy", help="Aggregation rule.")] = StrategyChoice.fedavg,
    output: Annotated[
        Optional[Path], path_parameter("--output", "-o", help="New global model file (default WORK_DIR/task-ID-global.safetensors).")
    ] = None,
    next_round: Annotated[
        bool, typer.Option("--next-round", help="Publish the new model and open the next round's task (signs).")
    ] = False,
    question: Annotated[Optional[str], typer.Option("--question", help="Next round's question (default: the same).")] = None,
    reward: Annotated[Optional[str], amount("Next round's reward per result (default: the same).", "--reward")] = None,
    max_assignments: Annotated[
        Optional[int], uint(MAX_ASSIGNMENTS, "Next round's slots (default: the same).", "--max-assignments", minimum=1)
    ] = None,
    expires_in: Annotated[
        Optional[int], uint(MAX_BLOCK_NUMBER, "Blocks until the next round expires.", "--expires-in", minimum=1)
    ] = None,
    work_dir: WorkDirOpt = None,
    max_download_bytes: common.MaxDownloadOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the global model file if it exists.")] = False,
) -> None:
    """Download and verify a round's accepted results, aggregate, evaluate, save the new global model."""
    from decentralml.fl.strategy import strategy_by_name
    from decentralml.usecases.federation import federate, open_next_round, plan_next_round

    run = run_context(ctx)
    bundle = _bundle(creator_bundle)
    rule = strategy_by_name(strategy.value)
    work = (work_dir or run.settings.work_dir).expanduser()
    target = (output or work / f"task-{task_id}-global.safetensors").expanduser()
    check_new_outputs(target.parent, [target.name], force=force)  # before anything is downloaded
    if target.is_dir():  # --force replaces a file, never a directory
        raise UsageError(f"{clip(str(target))} is a directory; --output is the global model file.",
                         hint="Pass the path of a file.")
    keypair = common.resolve_signer(run) if next_round else None
    opener = common.download_opener(run.settings, choice)
    store = common.upload_store(run.settings, choice) if next_round else None
    with common.chain_client(run) as chain:
        token = chain.token
        plan = None
        if keypair is not None:  # --next-round: its signer, terms and funds are checked before anything is written
            plan = plan_next_round(
                chain, keypair, task_id, question=question,
                pays_amount=parse_amount(reward, token) if reward is not None else None,
                max_assignments=max_assignments, expires_in_blocks=expires_in,
            )
        with run.output.status(f"Federating the accepted results of task {task_id}..."):
            result = federate(chain, task_id, bundle, rule, opener, work, target, progress=common.transfer_observer(run),
                              max_result_bytes=max_download_bytes)
        nxt = None
        if keypair is not None and plan is not None and store is not None:
            with run.output.status("Publishing the new global model and opening the next round..."):
                nxt = open_next_round(
                    chain, keypair, store, opener, plan, target, work,
                    progress=common.transfer_observer(run),
                )
    run.output.message(
        f"Task {task_id}: {result.strategy} over {sum(c.used for c in result.contributions)} result(s), "
        f"held-out accuracy {result.evaluation.accuracy:.2%}; saved {result.global_model}."
    )
    if nxt is not None:
        refund = f" (task {task_id} closed, refund {format_amount(nxt.closed_previous.refund or 0, token)})" if nxt.closed_previous else ""
        run.output.message(f"Next round: task {nxt.created.task_id}{refund}.")
    for s in result.skipped:
        run.output.message(f"Skipped accepted submission {s.submission_id}: {s.reason}")
    for c in result.contributions:
        if c.clipped:
            run.output.message(f"Submission {c.submission_id} claimed {c.claimed_samples} samples, weighted as {c.num_samples} ({c.clipped}).")
    payload = {
        "task_id": task_id,
        "strategy": result.strategy,
        "global_model": str(result.global_model),
        "digest": result.digest,
        "accuracy": result.evaluation.accuracy,
        "loss": result.evaluation.loss,
        "contributions": [
            {"submission_id": c.submission_id, "worker": c.worker, "num_samples": c.num_samples, "used": c.used,
             "claimed_samples": c.claimed_samples, "clipped": c.clipped or None}
            for c in result.contributions
        ],
        "skipped": [{"submission_id": s.submission_id, "worker": s.worker, "reason": s.reason} for s in result.skipped],
        "next_task_id": nxt.created.task_id if nxt else None,
        "next_base_model": nxt.created.base_model.to_json() if nxt and nxt.created.base_model else None,
    }
    table = UntrustedTable(title=f"Round of task {task_id}: {result.strategy}, accuracy {result.evaluation.accuracy:.2%}")
    for column in ("Submission", "Worker", "Samples", "Used"):
        table.add_column(column)
    for c in result.contributions:
        table.add_row(str(c.submission_id), common.short(c.worker, 14), str(c.num_samples), "yes" if c.used else "no")
    run.output.data(payload, table)


def register(app: typer.Typer) -> None:
    """Register ``federate`` and ``evaluate-results`` on the root app."""
    app.command("federate")(federate_cmd)
    app.command("evaluate-results")(evaluate_results_cmd)
