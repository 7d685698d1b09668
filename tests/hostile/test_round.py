"""A round with one hostile contributor of each kind and two honest ones, on a real dev node and MinIO.

Creator //Alice; honest //Bob and //Charlie; every other worker sends one
hostile result. Each hostile result is rejected (or, for an inflated sample
count, accepted and clipped) with its reason, the honest ones are accepted,
paid and federated, and the creator's work directory holds nothing beyond the
kept results, the base model and the new global model. The same round then
loses objects: federate uses the kept copies and skips what is gone
everywhere. ``show-result --download`` and ``assign-task`` meet a tar bomb
and leave nothing behind.
"""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from decentralml.chain.client import ChainClient
from decentralml.chain.signer import keypair_from_suri
from decentralml.chain.types import TaskType, ValidationStrategy
from decentralml.cli.app import app
from decentralml.fl.weights import save_weights
from decentralml.storage.factory import StoreSettings, open_store
from decentralml.storage.reference import Reference, StorageType
from decentralml.usecases import contributor, creator
from tests.hostile import kit

pytestmark = [pytest.mark.integration]

HONEST = ("Bob", "Charlie")


class Round:
    def __init__(self, node_url: str, s3: Any, bucket: str, tmp: Path) -> None:
        self.node_url, self.s3, self.bucket, self.tmp = node_url, s3, bucket, tmp
        self.runner = CliRunner()
        self.upload = ["--storage", "s3", "--s3-bucket", bucket, "--s3-endpoint-url", s3.endpoint_url]
        self.download = ["--s3-endpoint-url", s3.endpoint_url]
        self.settings = StoreSettings(s3_bucket=bucket, s3_endpoint_url=s3.endpoint_url)
        self.kind = "s3"

    def store(self) -> Any:
        """The backend hostile contributors upload through (our own store: content-level hostility)."""
        return open_store(self.kind, self.settings)

    def cli(self, suri: str, *args: Any) -> Any:
        return self.runner.invoke(app, ["--url", self.node_url, "--suri", suri, "--json", *map(str, args)],
                                  catch_exceptions=False)

    def ok(self, suri: str, *args: Any) -> Any:
        result = self.cli(suri, *args)
        assert result.exit_code == 0, f"{args[0]}: {result.stderr}"
        return json.loads(result.stdout)


def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("DECENTRALML_") and not n.endswith(("_BIN", "_SERVER"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DECENTRALML_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def rnd(devnode: Any, s3_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Round:
    _isolate(tmp_path, monkeypatch)
    return Round(devnode.url, s3_env, s3_env.new_bucket("hostile"), tmp_path)


@pytest.fixture(params=["local", "s3", "ipfs"])
def any_backend_round(request: pytest.FixtureRequest, devnode: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Round:
    _isolate(tmp_path, monkeypatch)
    if request.param == "s3":
        s3 = request.getfixturevalue("s3_env")
        return Round(devnode.url, s3, s3.new_bucket("hostile"), tmp_path)
    r = Round.__new__(Round)
    r.node_url, r.tmp, r.runner, r.kind = devnode.url, tmp_path, CliRunner(), request.param
    if request.param == "local":
        r.upload, r.download = ["--storage", "local", "--data-dir", str(tmp_path / "store")], []
        r.settings = StoreSettings(data_dir=tmp_path / "store")
    else:
        daemon = request.getfixturevalue("ipfs_daemon")
        monkeypatch.setenv("DECENTRALML_IPFS_AUTH", daemon.auth)
        r.upload, r.download = ["--storage", "ipfs", "--ipfs-api", daemon.api], ["--ipfs-api", daemon.api]
        r.settings = StoreSettings(ipfs_api=daemon.api, ipfs_auth=daemon.auth)
    return r


def _hostile_dirs(tmp: Path, base: Path, bob_result: Path) -> dict[str, Path]:
    """Result directories that our own store uploads faithfully: the hostility is in their content."""
    out: dict[str, Path] = {}

    def result(name: str, weights: bytes | None = None, metrics: bytes | None = None) -> Path:
        d = tmp / "hostile" / name
        d.mkdir(parents=True)
        (d / "weights.safetensors").write_bytes(weights if weights is not None else (bob_result / "weights.safetensors").read_bytes())
        if metrics is not None:
            (d / "metrics.json").write_bytes(metrics)
        out[name] = d
        return d

    good = kit.metrics_bytes(base)
    honest = kit.honest_result(tmp / "hostile-src", base, seed=99)
    real_weights = (honest / "weights.safetensors").read_bytes()
    result("deep metrics", real_weights, good[:-1] + b', "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}")
    result("shape 2**64", kit.safetensors_bytes(
        b'{"dense.bias":{"dtype":"F32","shape":[18446744073709551616,1],"data_offsets":[0,40]}}', b"\0" * 40), good)
    d = result("metrics is a directory", real_weights)
    (d / "metrics.json").mkdir()
    (d / "metrics.json" / "x").write_text("{}")
    result("overlapping offsets", kit.safetensors_bytes(
        {"dense.bias": {"dtype": "F32", "shape": [10], "data_offsets": [0, 40]},
         "dense.kernel": {"dtype": "F32", "shape": [64, 10], "data_offsets": [0, 2560]}}, b"\0" * 2560), good)
    result("10**15 samples", real_weights, kit.metrics_bytes(base, num_samples=10**15))
    rng = np.random.default_rng(5)
    from safetensors.numpy import load_file

    near = {k: v + np.float32(1e-5) * rng.standard_normal(v.shape).astype(np.float32)
            for k, v in load_file(str(bob_result / "weights.safetensors")).items()}
    d = tmp / "hostile" / "near copy"
    d.mkdir(parents=True)
    save_weights(d / "weights.safetensors", near)
    (d / "metrics.json").write_bytes(good)
    out["near copy"] = d
    return out


def test_a_round_with_every_kind_of_hostile_contributor(rnd: Round) -> None:
    tmp = rnd.tmp
    bundle = kit.write_creator_bundle(tmp / "creator")
    base = kit.base_model(tmp / "base.safetensors")
    assets = tmp / "assets"
    assets.mkdir()
    (assets / "README").write_text("train on your shard\n")
    created = rnd.ok("//Alice", "create-task", assets, "--question", "hostile round", "--reward", "10 UNIT",
                     "--max-assignments", 20, "--validation", "custom", "--base-model", base, *rnd.upload)
    task_id = created["task_id"]
    chain = ChainClient.connect(rnd.node_url)
    raw = kit.RawUpload(rnd.s3.client(), rnd.bucket)

    def slot(name: str) -> tuple[Any, int]:
        keypair = keypair_from_suri(f"//{name}")
        if name not in ("Bob", "Charlie", "Dave", "Eve", "Ferdie"):
            rnd.ok("//Alice", "transfer", keypair.ss58_address, "100 UNIT")
        assigned = rnd.ok(f"//{name}", "assign-task", task_id, "--work-dir", tmp / "workers" / name, *rnd.download)
        return keypair, assigned["submission_id"]

    sids: dict[str, int] = {}
    results: dict[str, Path] = {}
    for i, name in enumerate(HONEST):
        _, sids[name] = slot(name)
        results[name] = kit.honest_result(tmp / "results" / name, base, seed=i)
        rnd.ok(f"//{name}", "send-result", sids[name], results[name], *rnd.upload)

    # inflated but sane sample count: accepted, then clipped when weighing
    _, sids["inflated"] = slot("Dave")
    results["inflated"] = kit.honest_result(tmp / "results" / "inflated", base, seed=7, num_samples=10**9)
    rnd.ok("//Dave", "send-result", sids["inflated"], results["inflated"], *rnd.upload)

    hostile = _hostile_dirs(tmp, base, results["Bob"])
    names = iter(["Eve", "Ferdie"] + [f"Hostile{i}" for i in range(12)])
    expected: dict[str, str] = {
        "deep metrics": "nested", "shape 2**64": "safetensors", "metrics is a directory": "not a regular file",
        "overlapping offsets": "safetensors", "10**15 samples": "num_samples", "near copy": "cosine distance",
    }
    store = rnd.store()
    for kind, directory in hostile.items():
        worker = next(names)
        keypair, sids[kind] = slot(worker)
        contributor.send_result(chain, keypair, store, sids[kind], directory, metrics={})  # our CLI refuses some

    # archive-level hostility needs raw uploads (our store would never write these)
    bob_ref = chain.get_submission(sids["Bob"]).result
    bucket, key = bob_ref.uri[len("s3://"):].split("/", 1)
    bob_pack = bytearray(rnd.s3.client().get_object(Bucket=bucket, Key=key + "pack.tar")["Body"].read())
    bob_pack[140] ^= 1  # one byte of the first header's mtime: same content, other bytes
    header = bytes(bob_pack[:512])
    check = sum(header[:148]) + 8 * 32 + sum(header[156:])
    bob_pack[148:156] = b"%06o\0 " % check
    raw_kinds = {
        "sparse tar bomb": (raw.put_bytes(kit.sparse_bomb(), directory=True), "download refused"),
        "symlink member": (raw.put_bytes(kit.tar_of([(_link("weights.safetensors", "/etc/passwd"), b"")]), directory=True),
                           "only regular files"),
        "copy with a changed header byte": (raw.put_bytes(bytes(bob_pack), directory=True), "does not match its digest"),
        "copy claiming the same digest": (
            Reference(StorageType.S3, raw.put_bytes(bytes(bob_pack), directory=True).uri, bob_ref.digest),
            f"submission {sids['Bob']}"),
    }
    for kind, (ref, reason) in raw_kinds.items():
        worker = next(names)
        keypair, sids[kind] = slot(worker)
        contributor.send_result(chain, keypair, kit.FixedStore(ref), sids[kind], tmp, metrics={})
        expected[kind] = reason

    work = tmp / "creator-work"
    judged = rnd.ok("//Alice", "evaluate-results", task_id, "--creator-bundle", bundle, "--work-dir", work, *rnd.download)
    verdict = {j["submission_id"]: j for j in judged}
    for name in (*HONEST, "inflated"):
        assert verdict[sids[name]]["decision"] == "accepted", verdict[sids[name]]
    for kind, reason in expected.items():
        assert verdict[sids[kind]]["decision"] == "rejected", (kind, verdict[sids[kind]])
        assert reason in verdict[sids[kind]]["reason"], (kind, verdict[sids[kind]]["reason"])
    for name in HONEST:
        shown = rnd.ok("//Alice", "show-result", sids[name])
        assert shown["status"] == "Accepted" and int(shown["paid"]["planck"] if isinstance(shown["paid"], dict) else shown["paid"]) > 0

    # the original of Bob's result disappears: federate uses the kept copy. The inflated one is gone everywhere.
    rnd.s3.client().delete_object(Bucket=bucket, Key=key + "pack.tar")
    inflated_ref = chain.get_submission(sids["inflated"]).result
    ib, ik = inflated_ref.uri[len("s3://"):].split("/", 1)
    rnd.s3.client().delete_object(Bucket=ib, Key=ik + "pack.tar")
    from decentralml.usecases.federation import kept_results

    kept = kept_results(work)
    kept.delete(Reference(StorageType.LOCAL, kept.uri_for(inflated_ref.digest, directory=True), inflated_ref.digest))
    federated = rnd.ok("//Alice", "federate", task_id, "--creator-bundle", bundle, "--work-dir", work, *rnd.download)
    used = {c["submission_id"]: c for c in federated["contributions"]}
    assert set(used) == {sids["Bob"], sids["Charlie"]} and all(c["used"] for c in used.values())
    assert [s["submission_id"] for s in federated["skipped"]] == [sids["inflated"]]

    # the creator's disk: base model, kept results (within their budget), the global model; nothing else
    leftovers = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    expected_files = (f"task-{task_id}-base.safetensors", f"task-{task_id}-global.safetensors")
    assert [p for p in leftovers if not p.startswith("kept-results/dirs/") and p not in expected_files] == []
    assert len(leftovers) == 2 + 2 * 2  # base, global, and the two honest results kept
    assert sum((work / p).stat().st_size for p in leftovers) < 16 * (1 << 20)
    chain.close()


def test_inflated_counts_are_clipped_and_reported(rnd: Round) -> None:
    tmp = rnd.tmp
    bundle = kit.write_creator_bundle(tmp / "creator")
    base = kit.base_model(tmp / "base.safetensors")
    assets = tmp / "assets"
    assets.mkdir()
    (assets / "README").write_text("x\n")
    task_id = rnd.ok("//Alice", "create-task", assets, "--question", "clip", "--reward", "10 UNIT", "--max-assignments", 3,
                     "--validation", "custom", "--base-model", base, *rnd.upload)["task_id"]
    sids = {}
    for i, (name, samples) in enumerate((("Bob", 300), ("Charlie", 400), ("Dave", 10**9))):
        sids[name] = rnd.ok(f"//{name}", "assign-task", task_id, "--work-dir", tmp / name, *rnd.download)["submission_id"]
        rnd.ok(f"//{name}", "send-result", sids[name], kit.honest_result(tmp / f"r{i}", base, i, num_samples=samples), *rnd.upload)
    work = tmp / "work"
    rnd.ok("//Alice", "evaluate-results", task_id, "--creator-bundle", bundle, "--work-dir", work, *rnd.download)
    federated = rnd.ok("//Alice", "federate", task_id, "--creator-bundle", bundle, "--work-dir", work, *rnd.download)
    by_id = {c["submission_id"]: c for c in federated["contributions"]}
    assert by_id[sids["Dave"]]["claimed_samples"] == 10**9
    assert by_id[sids["Dave"]]["num_samples"] == kit.SHARD_SIZE  # below 2x the median of (300, 400, 500)
    assert "above the shard size" in by_id[sids["Dave"]]["clipped"]
    assert by_id[sids["Bob"]]["num_samples"] == 300 and by_id[sids["Bob"]]["clipped"] is None


def test_tar_bombs_leave_nothing_at_show_result_and_assign_task(rnd: Round) -> None:
    tmp = rnd.tmp
    raw = kit.RawUpload(rnd.s3.client(), rnd.bucket)
    chain = ChainClient.connect(rnd.node_url)
    alice = keypair_from_suri("//Alice")
    bomb = raw.put_bytes(kit.sparse_bomb(), directory=True)
    spec = creator.TaskSpec(TaskType.MODEL_CONTRIBUTOR, "bomb", 10 * 10**12, 2,
                            ValidationStrategy.MANUAL_ACCEPT, 100, 50)
    empty = tmp / "empty"
    empty.mkdir()
    task = creator.create_task(chain, alice, kit.FixedStore(bomb), spec, empty)
    before = chain.task_submissions(task.task_id)
    refused = rnd.cli("//Bob", "assign-task", task.task_id, "--work-dir", tmp / "bob", *rnd.download)
    assert refused.exit_code == 14 and "Refusing" in refused.stderr
    assert chain.task_submissions(task.task_id) == before  # no slot taken
    assert not (tmp / "bob").exists() or list((tmp / "bob").iterdir()) == []

    # a result that is a bomb, fetched with show-result --download
    assets = tmp / "assets"
    assets.mkdir()
    (assets / "README").write_text("x\n")
    task_id = rnd.ok("//Alice", "create-task", assets, "--question", "q", "--reward", "10 UNIT", "--max-assignments", 1,
                     *rnd.upload)["task_id"]
    bob = keypair_from_suri("//Bob")
    sid = rnd.ok("//Bob", "assign-task", task_id, "--work-dir", tmp / "bob2", *rnd.download)["submission_id"]
    contributor.send_result(chain, bob, kit.FixedStore(bomb), sid, tmp, metrics={})
    fetched = tmp / "downloads" / "result"
    shown = rnd.cli("//Alice", "show-result", sid, "--download", fetched, *rnd.download)
    assert shown.exit_code == 14 and "Refusing" in shown.stderr
    assert list((tmp / "downloads").iterdir()) == []
    chain.close()


def _link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


def test_bad_results_are_rejected_on_every_backend_and_the_round_goes_on(any_backend_round: Round) -> None:
    """The content-level faults and an over-budget result through local, S3 and IPFS storage."""
    rnd, tmp = any_backend_round, any_backend_round.tmp
    bundle = kit.write_creator_bundle(tmp / "creator")
    base = kit.base_model(tmp / "base.safetensors")
    assets = tmp / "assets"
    assets.mkdir()
    (assets / "README").write_text("x\n")
    task_id = rnd.ok("//Alice", "create-task", assets, "--question", "q", "--reward", "10 UNIT", "--max-assignments", 10,
                     "--validation", "custom", "--base-model", base, *rnd.upload)["task_id"]
    chain = ChainClient.connect(rnd.node_url)
    sids: dict[str, int] = {}
    results = {}
    for i, name in enumerate(HONEST):
        sids[name] = rnd.ok(f"//{name}", "assign-task", task_id, "--work-dir", tmp / name, *rnd.download)["submission_id"]
        results[name] = kit.honest_result(tmp / "results" / name, base, seed=i)
        rnd.ok(f"//{name}", "send-result", sids[name], results[name], *rnd.upload)
    hostile = _hostile_dirs(tmp, base, results["Bob"])
    oversized = tmp / "hostile" / "over budget"
    oversized.mkdir()
    (oversized / "weights.safetensors").write_bytes(os.urandom(3 << 20))  # > 4x the 2.8 KB base model + 1 MiB
    (oversized / "metrics.json").write_bytes(kit.metrics_bytes(base))
    hostile["over budget"] = oversized
    reasons = {"deep metrics": "nested", "shape 2**64": "safetensors", "metrics is a directory": "not a regular file",
               "overlapping offsets": "safetensors", "10**15 samples": "num_samples", "near copy": "cosine distance",
               "over budget": "download refused"}
    workers = iter(["Dave", "Eve", "Ferdie"] + [f"Hostile{i}" for i in range(8)])
    store = rnd.store()
    for kind, directory in hostile.items():
        worker = next(workers)
        keypair = keypair_from_suri(f"//{worker}")
        if worker.startswith("Hostile"):
            rnd.ok("//Alice", "transfer", keypair.ss58_address, "100 UNIT")
        sids[kind] = rnd.ok(f"//{worker}", "assign-task", task_id, "--work-dir", tmp / worker, *rnd.download)["submission_id"]
        contributor.send_result(chain, keypair, store, sids[kind], directory, metrics={})
    work = tmp / "creator-work"
    judged = {j["submission_id"]: j for j in rnd.ok(
        "//Alice", "evaluate-results", task_id, "--creator-bundle", bundle, "--work-dir", work, *rnd.download)}
    assert [judged[sids[n]]["decision"] for n in HONEST] == ["accepted", "accepted"]
    for kind, reason in reasons.items():
        assert judged[sids[kind]]["decision"] == "rejected" and reason in judged[sids[kind]]["reason"], (kind, judged[sids[kind]])
    federated = rnd.ok("//Alice", "federate", task_id, "--creator-bundle", bundle, "--work-dir", work, *rnd.download)
    assert sorted(c["submission_id"] for c in federated["contributions"]) == sorted(sids[n] for n in HONEST)
    assert federated["skipped"] == []
    files = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    assert len(files) == 2 + 2 * 2 and all(p.startswith("kept-results/dirs/") or p.startswith(f"task-{task_id}-") for p in files)
    fetched = rnd.cli("//Alice", "show-result", sids["over budget"], "--download", tmp / "dl" / "r",
                      "--max-download-bytes", 1 << 20, *rnd.download)
    assert fetched.exit_code == 14 and not (tmp / "dl" / "r").exists()
    chain.close()
