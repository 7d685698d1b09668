"""``decentralml split ...``: initiator/participants and round-robin split learning through the marketplace.

Creator:      split prepare-data, split init-bundle, then `decentralml create-task BUNDLE --base-model FILE`,
              split aggregate (initiator/participants) or split final (round robin).
Contributor:  split contribute TASK_ID --data MY.csv
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from decentralml.cli import common
from decentralml.cli.bounded import COUNT_MAX, finite_float, uint
from decentralml.cli.context import RunContext, run_context
from decentralml.cli.handler import CliApp
from decentralml.cli.paths import path_parameter
from decentralml.cli.sandbox_options import (
    ConsentOption,
    MaxOutputOption,
    MaxProcessesOption,
    MaxTimeOption,
    MemoryOption,
    NoSandboxOption,
    PipArgOption,
    ask_policy_consent,
    task_runner,
)
from decentralml.errors import UsageError
from decentralml.fl.split.data import MAX_SHARDS
from decentralml.fl.split.model import MAX_SEED
from decentralml.fl.split.train import MAX_LR
from decentralml.primitives.keypair import Keypair

if TYPE_CHECKING:  # the use cases are imported by the commands that run them, not at start-up
    from decentralml.chain.client import ChainClient
    from decentralml.usecases.split_learning import Refused

app = CliApp(name="split", help="Split learning (PyTorch): bundles, contributions, aggregation.")

#: The contributor bundle's scripts, installed with the package (assets/split_learning/participant links here).
TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "split_participant"
TEMPLATE_FILES = ("start_task.sh", "split_task.py", "requirements.txt")


class ProtocolChoice(str, enum.Enum):
    initiator = "initiator"
    round_robin = "round-robin"


class DatasetChoice(str, enum.Enum):
    breast_cancer = "breast_cancer"
    digits = "digits"


@app.command("prepare-data")
def prepare_data_cmd(
    ctx: typer.Context,
    out_dir: Annotated[Path, path_parameter(help="Directory for participant<i>.csv and test.csv.")],
    dataset: Annotated[DatasetChoice, typer.Option("--dataset", help="breast_cancer (tabular) or digits (images).")] = DatasetChoice.breast_cancer,
    participants: Annotated[int, uint(MAX_SHARDS, "Number of private shards.", "--participants", minimum=1)] = 3,
    seed: Annotated[int, uint(MAX_SEED, "Seed of the deterministic split.", "--seed")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace the CSV files if OUT_DIR holds them already.")] = False,
) -> None:
    """Write the stand-in private CSV shards (one per participant) and a held-out test CSV."""
    from decentralml.fl.split.data import prepare_shards

    run = run_context(ctx)
    shards = prepare_shards(dataset.value, out_dir, participants=participants, seed=seed, force=force)
    paths = [str(p) for p in shards.participants]
    run.output.data({"participants": paths, "test": str(shards.test)}, "\n".join([*paths, str(shards.test)]))


@app.command("init-bundle")
def init_bundle_cmd(
    ctx: typer.Context,
    out_dir: Annotated[Path, path_parameter(help="Creates OUT_DIR/bundle (the task's assets) and OUT_DIR/base_model.safetensors.")],
    protocol: Annotated[ProtocolChoice, typer.Option("--protocol", help="initiator (initiator/participants: the initiator aggregates the participants' server halves) or round-robin (contributors take turns).")] = ProtocolChoice.initiator,
    dataset: Annotated[DatasetChoice, typer.Option("--dataset", help="Shapes the network: breast_cancer (MLP) or digits (CNN).")] = DatasetChoice.breast_cancer,
    cut: Annotated[Optional[int], uint(COUNT_MAX, "Modules on the contributor's side of the cut.", "--cut", minimum=1)] = None,
    epochs: Annotated[int, uint(COUNT_MAX, "Training epochs per turn.", "--epochs", minimum=1)] = 10,
    batch_size: Annotated[int, uint(COUNT_MAX, "Samples per batch.", "--batch-size", minimum=1)] = 32,
    lr: Annotated[str, typer.Option("--lr", help=f"SGD learning rate (decimal, 0 to {MAX_LR}).")] = "0.02",
    momentum: Annotated[str, typer.Option("--momentum", help="SGD momentum (decimal, 0 or more and less than 1).")] = "0.9",
    seed: Annotated[int, uint(MAX_SEED, "Seed of the initial weights and the batch order.", "--seed")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT_DIR/bundle and OUT_DIR/base_model.safetensors if they exist.")] = False,
    template: Annotated[Optional[Path], path_parameter("--template", help="Bundle template directory (default: the one installed with the client).")] = None,
) -> None:
    """Make a split-learning bundle (config + scripts) and its initial checkpoint."""
    from decentralml.fl.split.model import SplitSpec
    from decentralml.fl.split.runner import BundleConfig, Protocol
    from decentralml.fl.split.train import TrainConfig
    from decentralml.usecases.split_learning import init_bundle

    run = run_context(ctx)
    if dataset is DatasetChoice.breast_cancer:
        spec = SplitSpec("mlp", 30, (32, 16), 2, cut=2 if cut is None else cut, seed=seed)
    else:
        spec = SplitSpec("cnn", 64, (8, 16), 10, cut=3 if cut is None else cut, seed=seed, image_size=8)
    config = BundleConfig(
        protocol=Protocol.ROUND_ROBIN if protocol is ProtocolChoice.round_robin else Protocol.INITIATOR,
        spec=spec,
        train=TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum, seed=seed),
    )
    made = init_bundle(out_dir, config, template or TEMPLATE, TEMPLATE_FILES, force=force)
    run.output.message(f"Next: decentralml create-task {made.bundle} --base-model {made.base_model} --max-assignments N ...")
    run.output.data(
        {"bundle": str(made.bundle), "base_model": str(made.base_model), "config": config.to_dict()},
        f"{made.bundle}\n{made.base_model}",
    )


@app.command("contribute")
@common.storage_options(upload=True)
def contribute_cmd(
    ctx: typer.Context,
    choice: common.StorageChoice,
    task_id: common.TaskIdArg,
    data: Annotated[Path, path_parameter("--data", help="Your private CSV (never uploaded).")],
    work_dir: Annotated[Optional[Path], path_parameter("--work-dir", help="Where the task's files go.")] = None,
    wait: Annotated[float, finite_float("Round robin: seconds to wait for the previous turn's result.", "--wait", minimum=0)] = 0.0,
    yes: ConsentOption = False,
    no_sandbox: NoSandboxOption = False,
    max_time: MaxTimeOption = None,
    memory: MemoryOption = "4GiB",
    max_processes: MaxProcessesOption = 256,
    max_output: MaxOutputOption = "2GiB",
    pip_arg: PipArgOption = None,
) -> None:
    """Take a slot, train the split network on your data, sign the lineage and send the result.

    The task's bundle runs in the same sandbox as `decentralml run-task` (no network, none of your
    files but its work directory and --data read-only, a scrubbed environment, time, memory,
    process and output limits); you are asked once, before the slot is taken, or pass --yes.
    """
    from decentralml.usecases.split_learning import contribute

    run = run_context(ctx)
    common.require_path(data)
    keypair = common.resolve_signer(run)
    runner = task_runner(run, no_sandbox=no_sandbox, max_time=max_time, memory=memory, max_processes=max_processes,
                         max_output=max_output, pip_args=pip_arg or ())
    ask_policy_consent(run, runner, data, yes, command="split contribute",
                       question="Run this task's code under these limits?")
    with common.chain_client(run) as chain:
        with run.output.status(f"Contributing to task {task_id}..."):
            result = contribute(
                chain, keypair, task_id, common.download_opener(run.settings, choice),
                common.upload_store(run.settings, choice), data, (work_dir or run.settings.work_dir).expanduser(),
                wait_seconds=wait, runner=runner,
            )
    run.output.message(
        f"Sent submission {result.submission_id} of task {task_id} with lineage 0x{result.lineage.digest.hex()}"
        + (f" (continuing submission {result.previous_submission})" if result.previous_submission is not None else "")
    )
    run.output.data(
        {
            "task_id": task_id,
            "submission_id": result.submission_id,
            "protocol": result.protocol.value,
            "previous_submission": result.previous_submission,
            "lineage_digest": "0x" + result.lineage.digest.hex(),
            "result": result.sent.result.to_json(),
            "accepted": result.sent.accepted,
            "metrics": {k: result.metrics[k] for k in ("samples", "train_loss", "train_accuracy") if k in result.metrics},
            "transaction": common.receipt_json(result.sent.receipt),
        },
        str(result.submission_id),
    )


def _decide(run: RunContext, chain: ChainClient, keypair: Keypair | None, accept_ids: list[int], refused: Sequence[Refused],
            accept: bool, reject_invalid: bool) -> dict[str, Any]:
    """Accept ``accept_ids`` (``accept``) and reject the refused (``reject_invalid``) as ``keypair``, report the refused.

    ``keypair`` is None when neither decision was asked for (nothing is signed then).
    """
    from decentralml.usecases.split_learning import accept_verified, reject_refused

    accepted = accept_verified(chain, keypair, accept_ids) if accept and keypair is not None else []
    rejected = reject_refused(chain, keypair, refused) if reject_invalid and keypair is not None else []
    for item in refused:
        run.output.warning(f"Submission {item.submission_id} refused: {item.reason}")
    if accepted:
        run.output.message(f"Accepted and paid submissions {', '.join(map(str, accepted))}.")
    if rejected:
        run.output.message(f"Rejected submissions {', '.join(map(str, rejected))}.")
    return {"accepted": accepted, "rejected": rejected, "refused": [{"submission_id": r.submission_id, "reason": r.reason} for r in refused]}


@app.command("aggregate")
@common.storage_options(upload=False)
def aggregate_cmd(
    ctx: typer.Context,
    choice: common.StorageChoice,
    task_id: Annotated[int, common.task_id_argument("Task id (initiator/participants protocol).")],
    data: Annotated[Path, path_parameter("--data", help="The initiator's own CSV (trains the main model).")],
    output: Annotated[Path, path_parameter("--output", help="Fresh directory for the main model and its lineage.")],
    test: Annotated[Optional[Path], path_parameter("--test", help="Held-out CSV to report test accuracy.")] = None,
    accept: Annotated[bool, typer.Option("--accept/--no-accept", help="Accept (pay) the verified results used.")] = False,
    reject_invalid: Annotated[bool, typer.Option("--reject-invalid", help="Reject results whose lineage fails.")] = False,
    strategy: Annotated[str, typer.Option("--strategy", help="fedavg (weighted by samples), median, trimmed-mean or krum.")] = "fedavg",
) -> None:
    """Verify the participants' lineage, aggregate their server halves, train and sign the main model."""
    from decentralml.fl.strategy import STRATEGIES
    from decentralml.usecases.split_learning import aggregate_task

    run = run_context(ctx)
    if strategy not in STRATEGIES:
        raise UsageError(f"Unknown strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}.")
    common.require_path(data)
    keypair = common.resolve_signer(run)
    with common.chain_client(run) as chain:
        with run.output.status(f"Aggregating task {task_id}..."):
            result = aggregate_task(chain, keypair, task_id, common.download_opener(run.settings, choice), data, output,
                                    test=test, strategy=strategy)
        decisions = _decide(run, chain, keypair, list(result.used), result.refused, accept, reject_invalid)
    summary = {k: result.metrics[k] for k in ("participants", "participant_samples", "test_accuracy", "test_loss") if k in result.metrics}
    run.output.data(
        {"task_id": task_id, "model": str(result.model_dir), "lineage": str(result.lineage_path),
         "lineage_digest": "0x" + result.lineage.digest.hex(), "used": list(result.used), "metrics": summary, **decisions},
        f"model {result.model_dir}\nused submissions {list(result.used)}\n"
        + (f"test accuracy {100 * summary['test_accuracy']:.2f}%\n" if "test_accuracy" in summary else ""),
    )


@app.command("final")
@common.storage_options(upload=False)
def final_cmd(
    ctx: typer.Context,
    choice: common.StorageChoice,
    task_id: Annotated[int, common.task_id_argument("Task id (round-robin protocol).")],
    output: Annotated[Path, path_parameter("--output", help="Fresh directory for the last turn's model.")],
    test: Annotated[Optional[Path], path_parameter("--test", help="Held-out CSV: accuracy after every turn.")] = None,
    accept: Annotated[bool, typer.Option("--accept/--no-accept", help="Accept (pay) every verified turn.")] = False,
    reject_invalid: Annotated[bool, typer.Option("--reject-invalid", help="Reject turns whose lineage fails.")] = False,
) -> None:
    """Verify every round-robin turn and their chain of lineage; fetch the last turn's model."""
    from decentralml.usecases.split_learning import final_round_robin_model

    run = run_context(ctx)
    with common.chain_client(run) as chain:
        with run.output.status(f"Verifying the turns of task {task_id}..."):
            result = final_round_robin_model(chain, task_id, common.download_opener(run.settings, choice), output, test=test)
        keypair = common.resolve_signer(run) if (accept or reject_invalid) else None
        decisions = _decide(run, chain, keypair, [t.submission_id for t in result.turns], result.refused, accept, reject_invalid)
    turns = [t.__dict__ for t in result.turns]
    lines = [f"turn {i + 1}: submission {t.submission_id}, train loss {t.train_loss}"
             + (f", test acc {100 * t.test_accuracy:.2f}%" if t.test_accuracy is not None else "") for i, t in enumerate(result.turns)]
    run.output.data({"task_id": task_id, "model": str(result.model_dir), "turns": turns, **decisions},
                    "\n".join([f"model {result.model_dir}", *lines]))


@app.command("verify")
def verify_cmd(
    ctx: typer.Context,
    lineage: Annotated[Path, path_parameter(help="A signed lineage record (e.g. OUTPUT/lineage.json of split aggregate).")],
    output: Annotated[Optional[Path], path_parameter("--output", help="The artifact the record describes (file or directory).")] = None,
    digest: Annotated[Optional[str], typer.Option("--digest", help="Expected lineage digest (0x hex), e.g. from the chain.")] = None,
    signer: Annotated[Optional[str], typer.Option("--signer", help="Expected signer (SS58 address or 0x public key).")] = None,
) -> None:
    """Verify a signed lineage record offline: signature, expected digest and signer, artifact hash."""
    from decentralml.cli.lineage import lineage_table, report_to_dict
    from decentralml.usecases.lineage import verify_lineage_file

    run = run_context(ctx)
    common.require_path(lineage)
    expected = None
    if digest is not None:
        try:
            expected = bytes.fromhex(digest.removeprefix("0x"))
        except ValueError:
            raise UsageError(f"--digest {digest!r} is not hex.") from None
    report = verify_lineage_file(
        lineage,
        output=common.require_path(output) if output is not None else None,
        expected_digest=expected,
        expected_signer=signer or None,
    )
    run.output.data(report_to_dict(report), lineage_table(report))


def register(root: typer.Typer) -> None:
    """Register the ``split`` command group on the root app."""
    root.add_typer(app, name="split")
