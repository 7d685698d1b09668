"""Both split-learning protocols end to end on the dev node, three participants, lineage on chain.

Alice creates the task, Bob, Charlie and Dave contribute with their private
CSV shards; results carry signed lineage records whose digests are on chain;
Alice verifies, aggregates (or takes the last turn) and pays.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from substrateinterface import Keypair

from decentralml.chain.client import ChainClient
from decentralml.chain.types import SubmissionStatus, TaskStatus, TaskType, ValidationStrategy
from decentralml.errors import IntegrityError, UsageError
from decentralml.fl.split.data import prepare_shards
from decentralml.fl.split.model import SplitSpec
from decentralml.fl.split.runner import BundleConfig, Protocol, write_base_model, write_config
from decentralml.fl.split.train import TrainConfig
from decentralml.lineage import decode_inline_result, verify_result_lineage
from decentralml.storage import StoreSettings, open_store
from decentralml.usecases import TaskSpec, create_task
from decentralml.usecases import split_learning as marketplace
from decentralml.usecases.task_runner import SandboxedRunner

pytestmark = [pytest.mark.integration, pytest.mark.ml]

TEMPLATE = Path(__file__).resolve().parents[2] / "assets" / "split_learning" / "participant"
REWARD = 10**12


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Four breast-cancer shards: 1 for the initiator (Alice), 2..4 for the three participants."""
    return prepare_shards("breast_cancer", tmp_path_factory.mktemp("data"), participants=4, seed=1)


@pytest.fixture
def market(devnode, tmp_path):
    chain = ChainClient.connect(devnode.url)
    store = open_store("local", StoreSettings(data_dir=tmp_path / "store"))
    try:
        yield chain, store
    finally:
        chain.close()


def _bundle(tmp_path: Path, protocol: Protocol) -> tuple[Path, Path]:
    bundle = tmp_path / "bundle"
    bundle.mkdir(parents=True)
    for name in ("start_task.sh", "split_task.py", "requirements.txt"):
        shutil.copy2(TEMPLATE / name, bundle / name)
    config = BundleConfig(protocol, SplitSpec("mlp", 30, (16, 8), 2, cut=2, seed=0), TrainConfig(epochs=4, batch_size=16, lr="0.05"))
    write_config(bundle, config)
    return bundle, write_base_model(config, tmp_path / "base.safetensors")


def _create(chain, store, tmp_path, protocol, creator, deadline: int = 5_000) -> int:
    bundle, base = _bundle(tmp_path / f"task-{protocol.value}-{deadline}", protocol)
    spec = TaskSpec(TaskType.MODEL_CONTRIBUTOR, f"split learning ({protocol.value})", REWARD, 3,
                    ValidationStrategy.MANUAL_ACCEPT, expires_in_blocks=10_000, assignment_deadline=deadline)
    return create_task(chain, creator, store, spec, bundle, base_model=base).task_id


def _opener(store):
    return lambda ref: store


PARTICIPANTS = ("//Bob", "//Charlie", "//Dave")


def _honest_then_charlie_assigned(chain, store, shards, tmp_path):
    """Alice's INITIATOR task, Bob's honest contribution and a slot taken by Charlie (not yet sent)."""
    from decentralml.usecases import assign_task

    alice = Keypair.create_from_uri("//Alice")
    task_id = _create(chain, store, tmp_path, Protocol.INITIATOR, alice)
    bob, charlie, dave = (Keypair.create_from_uri(u) for u in PARTICIPANTS)
    honest = marketplace.contribute(chain, bob, task_id, _opener(store), store, shards.participants[1], tmp_path / "bob")
    assigned = assign_task(chain, charlie, task_id, _opener(store), tmp_path / "charlie")
    return alice, task_id, honest, charlie, dave, assigned


def _cli(*args: str):
    from typer.testing import CliRunner

    from decentralml.cli.app import app

    return CliRunner().invoke(app, list(args))


def test_initiator_participants_protocol_end_to_end(devnode, market, shards, tmp_path):
    chain, store = market
    alice = Keypair.create_from_uri("//Alice")
    task_id = _create(chain, store, tmp_path, Protocol.INITIATOR, alice)
    # Too early: refused, and nothing is left in the output directory, so the same command runs again later.
    with pytest.raises(UsageError, match="no verified participant result yet"):
        marketplace.aggregate_task(chain, alice, task_id, _opener(store), shards.participants[0], tmp_path / "main")
    assert not (tmp_path / "main").exists()

    contributions = []
    for uri, data in zip(PARTICIPANTS, shards.participants[1:]):
        worker = Keypair.create_from_uri(uri)
        contributions.append(marketplace.contribute(chain, worker, task_id, _opener(store), store, data, tmp_path / uri[2:]))

    for contribution, uri in zip(contributions, PARTICIPANTS):
        submission = chain.get_submission(contribution.submission_id)
        assert submission.status is SubmissionStatus.PENDING_VALIDATION
        assert submission.lineage_digest == contribution.lineage.digest
        report = verify_result_lineage(
            inline_result=submission.inline_result, lineage_digest=submission.lineage_digest,
            worker_public_key=submission.worker, task_id=task_id, submission_id=submission.submission_id,
            result_digest=submission.result.digest,
        )
        assert report.signed.record.signer == Keypair.create_from_uri(uri).public_key.hex()
        assert report.signed.record.step == marketplace.STEP_PARTICIPANT

    shown = _cli("--url", devnode.url, "--json", "show-result", str(contributions[0].submission_id))
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["lineage"]["digest"] == contributions[0].lineage.digest.hex()

    result = marketplace.aggregate_task(chain, alice, task_id, _opener(store), shards.participants[0],
                                        tmp_path / "main", test=shards.test)
    assert result.used == tuple(c.submission_id for c in contributions) and not result.refused
    assert result.metrics["participant_samples"] == [c.metrics["samples"] for c in contributions]
    assert result.metrics["test_accuracy"] > 0.85
    assert set(result.lineage.record.parents) == {c.lineage.digest.hex() for c in contributions}
    assert json.loads(result.lineage_path.read_text())["record"]["step"] == marketplace.STEP_INITIATOR
    assert sorted(p.name for p in (tmp_path / "main").iterdir()) == ["lineage.json", "model"], "no download is left"
    with pytest.raises(UsageError, match="already exist"):  # a second run does not replace the first's outputs
        marketplace.aggregate_task(chain, alice, task_id, _opener(store), shards.participants[0], tmp_path / "main")

    before = {c.submission_id: chain.balance(chain.get_submission(c.submission_id).worker).free for c in contributions}
    assert marketplace.accept_verified(chain, alice, result.used) == list(result.used)
    for contribution in contributions:
        submission = chain.get_submission(contribution.submission_id)
        assert submission.status is SubmissionStatus.ACCEPTED and submission.paid == REWARD
        assert chain.balance(submission.worker).free == before[contribution.submission_id] + REWARD
    assert chain.get_task(task_id).status is TaskStatus.COMPLETED


def test_round_robin_protocol_end_to_end(devnode, market, shards, tmp_path):
    chain, store = market
    alice = Keypair.create_from_uri("//Alice")
    task_id = _create(chain, store, tmp_path, Protocol.ROUND_ROBIN, alice)

    turns = []
    for uri, data in zip(PARTICIPANTS[:2], shards.participants[1:3]):
        worker = Keypair.create_from_uri(uri)
        turns.append(marketplace.contribute(chain, worker, task_id, _opener(store), store, data, tmp_path / uri[2:]))
    # The third turn through the command line, as a contributor would run it.
    result = _cli("--url", devnode.url, "--suri", "//Dave", "--json", "split", "contribute", str(task_id),
                  "--data", str(shards.participants[3]), "--work-dir", str(tmp_path / "Dave"), "--yes",
                  "--data-dir", str(store.data_dir))
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["previous_submission"] == turns[1].submission_id
    dave = chain.get_submission(body["submission_id"])
    assert "0x" + dave.lineage_digest.hex() == body["lineage_digest"]
    signed, _ = decode_inline_result(dave.inline_result)
    turns.append(marketplace.SplitContribution(task_id, dave.submission_id, Protocol.ROUND_ROBIN, body["previous_submission"],
                                          signed, body["metrics"], None))
    assert [t.previous_submission for t in turns] == [None, turns[0].submission_id, turns[1].submission_id]
    assert turns[1].lineage.record.parents == (turns[0].lineage.digest.hex(),)

    outcome = marketplace.final_round_robin_model(chain, task_id, _opener(store), tmp_path / "final", test=shards.test)
    assert [t.submission_id for t in outcome.turns] == [t.submission_id for t in turns] and not outcome.refused
    assert outcome.turns[-1].test_accuracy > 0.85
    from decentralml.fl.split import weights

    final = weights.read(outcome.model_dir / "weights.safetensors")
    assert final.samples == sum(t.metrics["samples"] for t in turns)  # every turn's data went into the last model
    assert set(final.tensors) == {"client", "server", "server_opt"}
    assert outcome.turns[-1].test_loss < outcome.turns[0].test_loss  # the turns keep improving the model
    assert marketplace.accept_verified(chain, alice, [t.submission_id for t in outcome.turns]) == [t.submission_id for t in turns]
    assert chain.get_task(task_id).status is TaskStatus.COMPLETED


def test_round_robin_turn_must_wait_for_previous_result(market, shards, tmp_path):
    chain, store = market
    alice = Keypair.create_from_uri("//Alice")
    task_id = _create(chain, store, tmp_path, Protocol.ROUND_ROBIN, alice)
    from decentralml.usecases import assign_task

    bob = Keypair.create_from_uri("//Bob")
    assign_task(chain, bob, task_id, _opener(store), tmp_path / "bob")
    charlie = Keypair.create_from_uri("//Charlie")
    from decentralml.errors import UsageError

    with pytest.raises(UsageError, match="not your turn"):
        marketplace.contribute(chain, charlie, task_id, _opener(store), store, shards.participants[2], tmp_path / "charlie")

    # A turn whose holder let its deadline pass is skipped: the next turn starts from the base model.
    # Charlie's slot is taken once Bob's has expired, and its run must end two blocks before its own deadline.
    short = _create(chain, store, tmp_path, Protocol.ROUND_ROBIN, alice, deadline=6)
    bob_slot = assign_task(chain, bob, short, _opener(store), tmp_path / "bob-short")
    from decentralml.usecases import transfer

    while chain.block_number() < bob_slot.deadline:  # one block per transfer
        transfer(chain, alice, Keypair.create_from_uri("//Ferdie").ss58_address, REWARD)
    assigned = assign_task(chain, charlie, short, _opener(store), tmp_path / "charlie-short")
    turn = marketplace.contribute(chain, charlie, short, _opener(store), store, shards.participants[2],
                                  tmp_path / "charlie-short", assigned=assigned)
    assert turn.previous_submission is None and turn.lineage.record.parents == ()


def test_tampered_results_are_refused_and_rejected(devnode, market, shards, tmp_path):
    """A lineage digest on chain that is not the record's, and an artifact altered in storage."""
    chain, store = market
    alice, task_id, honest, charlie, dave, assigned = _honest_then_charlie_assigned(chain, store, shards, tmp_path)

    # Charlie trains honestly but sends Bob's signed record inline and a digest of nothing on chain.
    output, _ = marketplace.run_bundle(chain, assigned, shards.participants[2], marketplace._base_model(assigned),
                                       SandboxedRunner())
    ref = store.put(output)
    forged_digest = b"\x42" * 32
    chain.submit(charlie, "send_task_result", {
        "submission_id": assigned.submission_id, "result": ref.to_chain(),
        "inline_result": "0x" + honest.sent.inline_result.hex(), "lineage_digest": "0x" + forged_digest.hex(),
    })
    submission = chain.get_submission(assigned.submission_id)
    with pytest.raises(IntegrityError, match="on-chain lineage_digest"):
        verify_result_lineage(inline_result=submission.inline_result, lineage_digest=submission.lineage_digest,
                              worker_public_key=submission.worker, task_id=task_id,
                              submission_id=submission.submission_id, result_digest=submission.result.digest)

    shown = _cli("--url", devnode.url, "show-result", str(assigned.submission_id))
    assert shown.exit_code == 14 and "on-chain lineage_digest" in shown.output

    # Dave sends a correct result, then the stored artifact is altered.
    tampered = marketplace.contribute(chain, dave, task_id, _opener(store), store, shards.participants[3], tmp_path / "dave")
    stored = store.path_of(tampered.sent.result)
    weights_file = stored / "weights.safetensors"
    weights_file.chmod(0o644)
    raw = bytearray(weights_file.read_bytes())
    raw[-1] ^= 0xFF
    weights_file.write_bytes(bytes(raw))

    result = marketplace.aggregate_task(chain, alice, task_id, _opener(store), shards.participants[0], tmp_path / "main")
    assert result.used == (honest.submission_id,)
    assert {r.submission_id for r in result.refused} == {assigned.submission_id, tampered.submission_id}
    assert marketplace.reject_refused(chain, alice, result.refused) == sorted(r.submission_id for r in result.refused)
    assert chain.get_submission(tampered.submission_id).status is SubmissionStatus.REJECTED


def test_an_oversized_result_is_refused_within_the_result_budget(devnode, market, shards, tmp_path):
    """A participant's result far larger than the task's result budget (4 × base model + 1 MiB) is
    refused while it downloads: nothing of it is kept, and the honest result is still aggregated."""
    chain, store = market
    alice, task_id, honest, charlie, _, assigned = _honest_then_charlie_assigned(chain, store, shards, tmp_path)
    bloated = tmp_path / "bloated"
    bloated.mkdir()
    (bloated / "weights.safetensors").write_bytes(b"\0" * (8 * 1024 * 1024))
    # A genuine, signed lineage record for the bloated output: only its size is wrong.
    from decentralml.fl.split.runner import load_config
    from decentralml.lineage import sign_step
    from decentralml.usecases import send_result

    signed = sign_step(
        charlie, task_id=task_id, submission_id=assigned.submission_id, step=marketplace.STEP_PARTICIPANT,
        framework="torch", data=shards.participants[2], params=load_config(assigned.bundle_dir).to_dict(),
        code_hash=chain.get_task(task_id).assets.bundle.digest.hex(), output=bloated,
        started_at_ms=1, finished_at_ms=2, parents=(),
    )
    send_result(chain, charlie, store, assigned.submission_id, bloated, metrics={}, lineage=signed)

    work = tmp_path / "main"
    result = marketplace.aggregate_task(chain, alice, task_id, _opener(store), shards.participants[0], work)
    assert result.used == (honest.submission_id,)
    (refused,) = result.refused
    assert refused.submission_id == assigned.submission_id
    assert not any(p.name == f"submission-{assigned.submission_id}" for p in work.rglob("*"))
