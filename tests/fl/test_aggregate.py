"""Aggregation maths: explicit expectations, properties, and robustness to a poisoned update."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from decentralml.errors import TrainingError, UsageError
from decentralml.fl import FedAvg, FedAvgAccumulator, InMemoryModel, Krum, Median, TrimmedMean, Update, strategy_by_name
from decentralml.fl.aggregate import krum_select, trim_count, trimmed_mean, weighted_mean
from decentralml.fl.strategy.fedavg import GROUP_SIZE, error_bound


def update(n: int, **tensors: np.ndarray) -> Update:
    return Update(InMemoryModel({k: np.asarray(v, dtype=np.float32) for k, v in tensors.items()}), n)


def test_fedavg_weights_by_sample_counts() -> None:
    a = update(1, w=[[0.0, 2.0]], b=[1.0])
    b = update(3, w=[[4.0, 6.0]], b=[5.0])
    out = FedAvg().aggregate([a, b]).weights
    np.testing.assert_allclose(out["w"], [[3.0, 5.0]])
    np.testing.assert_allclose(out["b"], [4.0])
    assert out["w"].dtype == np.float32


def test_fedavg_does_not_modify_inputs() -> None:
    source = {"w": np.array([1.0, 2.0], dtype=np.float32)}
    FedAvg().aggregate([Update(InMemoryModel(source), 2), update(1, w=[3.0, 3.0])])
    np.testing.assert_array_equal(source["w"], [1.0, 2.0])


def test_accumulator_matches_strategy() -> None:
    rng = np.random.default_rng(1)
    models = [{"w": rng.normal(size=(5, 3)).astype(np.float32)} for _ in range(4)]
    counts = [10, 20, 5, 7]
    acc = FedAvgAccumulator()
    for m, n in zip(models, counts):
        acc.add(m, n)
    expected = FedAvg().aggregate([Update(InMemoryModel(m), n) for m, n in zip(models, counts)]).weights
    np.testing.assert_allclose(acc.result()["w"], expected["w"], rtol=1e-6)
    np.testing.assert_allclose(
        expected["w"], sum(m["w"].astype(np.float64) * n for m, n in zip(models, counts)) / sum(counts), rtol=1e-5
    )


def test_median_and_trimmed_mean_explicit() -> None:
    ups = [update(1, w=[1.0, 10.0]), update(1, w=[2.0, 20.0]), update(1, w=[100.0, -50.0])]
    np.testing.assert_allclose(Median().aggregate(ups).weights["w"], [2.0, 10.0])
    # 3 updates, beta 0.2 -> ceil(0.6) = 1 dropped at each end: the middle value remains
    np.testing.assert_allclose(TrimmedMean().aggregate(ups).weights["w"], [2.0, 10.0])
    assert trim_count(10, 0.2) == 2
    np.testing.assert_allclose(trimmed_mean(np.array([[1.0], [2.0], [3.0], [4.0], [100.0]]), 1), [3.0])


def test_krum_picks_the_update_closest_to_others() -> None:
    distances = np.array([[0, 1, 9], [1, 0, 8], [9, 8, 0]], dtype=float)
    assert krum_select(distances, byzantine=0) == [0]
    ups = [update(1, w=[1.0, 1.0]), update(1, w=[1.1, 0.9]), update(1, w=[50.0, -50.0])]
    result = Krum().aggregate(ups)
    assert 2 not in result.used
    assert np.all(np.abs(result.weights["w"]) < 2)


def test_krum_needs_enough_updates() -> None:
    ups = [update(1, w=[1.0]), update(1, w=[2.0]), update(1, w=[3.0])]
    with pytest.raises(TrainingError, match="at least 4"):
        Krum(byzantine=1).aggregate(ups)


@pytest.mark.parametrize("rule", [Median(), TrimmedMean(), Krum()])
def test_robust_rules_resist_a_poisoned_update(rule) -> None:
    rng = np.random.default_rng(7)
    truth = rng.normal(size=(20, 8)).astype(np.float32)
    honest = [truth + rng.normal(scale=0.01, size=truth.shape).astype(np.float32) for _ in range(4)]
    poisoned = np.full_like(truth, 1e4)
    ups = [Update(InMemoryModel({"w": h}), 100) for h in honest] + [Update(InMemoryModel({"w": poisoned}), 10_000)]
    robust = rule.aggregate(ups).weights["w"]
    assert np.abs(robust - truth).max() < 0.05
    naive = FedAvg().aggregate(ups).weights["w"]
    assert np.abs(naive - truth).max() > 100


def test_stacking_rules_chunk_large_tensors() -> None:
    rng = np.random.default_rng(3)
    models = [rng.normal(size=(64, 16)).astype(np.float32) for _ in range(5)]
    ups = [Update(InMemoryModel({"w": m}), 1) for m in models]
    small_budget = Median(budget_bytes=256).aggregate(ups).weights["w"]
    np.testing.assert_allclose(small_budget, np.median(np.stack(models), axis=0), rtol=1e-6)
    chunked_krum = Krum(budget_bytes=128).aggregate(ups)
    assert chunked_krum.used == Krum().aggregate(ups).used


def test_mismatched_updates_are_refused() -> None:
    with pytest.raises(TrainingError, match="shape"):
        FedAvg().aggregate([update(1, w=[1.0, 2.0]), update(1, w=[1.0, 2.0, 3.0])])
    with pytest.raises(TrainingError, match="No accepted updates"):
        FedAvg().aggregate([])
    with pytest.raises(TrainingError, match="NaN"):
        FedAvg().aggregate([update(1, w=[1.0]), update(1, w=[np.nan])])
    with pytest.raises(UsageError, match="Unknown strategy"):
        strategy_by_name("mean-of-vibes")


finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)
tensor = arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(1, 4)), elements=finite)


@settings(max_examples=60, deadline=None)
@given(tensor, st.lists(st.integers(1, 10_000), min_size=1, max_size=6))
def test_fedavg_of_identical_models_is_that_model(w: np.ndarray, counts: list[int]) -> None:
    out = FedAvg().aggregate([Update(InMemoryModel({"w": w}), n) for n in counts]).weights["w"]
    np.testing.assert_allclose(out, w, rtol=1e-5, atol=1e-4)
    for rule in (Median(), TrimmedMean()):
        np.testing.assert_allclose(rule.aggregate([Update(InMemoryModel({"w": w}), n) for n in counts]).weights["w"], w, rtol=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_fedavg_is_a_convex_combination_and_permutation_invariant(data) -> None:
    k = data.draw(st.integers(1, 6))
    shape = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    ws = [data.draw(arrays(np.float32, shape, elements=finite)) for _ in range(k)]
    counts = data.draw(st.lists(st.integers(1, 1000), min_size=k, max_size=k))
    perm = data.draw(st.permutations(range(k)))
    out = FedAvg().aggregate([Update(InMemoryModel({"w": w}), n) for w, n in zip(ws, counts)]).weights["w"]
    permuted = FedAvg().aggregate([Update(InMemoryModel({"w": ws[i]}), counts[i]) for i in perm]).weights["w"]
    np.testing.assert_allclose(out, permuted, rtol=1e-5, atol=1e-3)
    stack = np.stack(ws)
    assert np.all(out >= stack.min(axis=0) - 1e-3) and np.all(out <= stack.max(axis=0) + 1e-3)
    # the normalised weights sum to one: scaling every count by 7 changes nothing
    scaled = FedAvg().aggregate([Update(InMemoryModel({"w": w}), n * 7) for w, n in zip(ws, counts)]).weights["w"]
    np.testing.assert_allclose(out, scaled, rtol=1e-5, atol=1e-3)
    for rule in (Median(), TrimmedMean()):
        a = rule.aggregate([Update(InMemoryModel({"w": w}), 1) for w in ws]).weights["w"]
        b = rule.aggregate([Update(InMemoryModel({"w": ws[i]}), 1) for i in perm]).weights["w"]
        np.testing.assert_array_equal(a, b)


def test_weighted_mean_needs_weights() -> None:
    with pytest.raises(TrainingError, match="as many weights as tensors"):
        weighted_mean([np.ones(2)], [])
    np.testing.assert_allclose(weighted_mean([np.zeros(2), np.ones(2)], [1, 3]), [0.75, 0.75])


def test_fedavg_from_files_matches_memory_and_names_a_nan_update(tmp_path) -> None:
    from safetensors.numpy import save_file

    from decentralml.fl import SafetensorsModel
    from decentralml.fl.weights import save_weights

    rng = np.random.default_rng(2)
    models = [{"w": rng.normal(size=(300, 7)).astype(np.float32), "b": rng.normal(size=(7,)).astype(np.float32),
               "s": np.array(rng.normal(), dtype=np.float32)} for _ in range(3)]
    for i, m in enumerate(models):
        save_weights(tmp_path / f"m{i}.safetensors", m)
    from_files = [Update(SafetensorsModel(tmp_path / f"m{i}.safetensors"), 10 * (i + 1), f"m{i}") for i in range(3)]
    in_memory = [Update(InMemoryModel(m), 10 * (i + 1)) for i, m in enumerate(models)]
    small_chunks = FedAvg(chunk_bytes=64).aggregate(from_files).weights
    expected = FedAvg().aggregate(in_memory).weights
    for name in expected:
        np.testing.assert_allclose(small_chunks[name], expected[name], rtol=1e-6)
    bad = dict(models[1])
    bad["w"] = bad["w"].copy()
    bad["w"][150, 3] = np.inf
    save_file(bad, str(tmp_path / "m1.safetensors"))
    with pytest.raises(TrainingError, match="update m1: .*NaN or infinite"):
        FedAvg(chunk_bytes=64).aggregate(from_files)


def reference_fedavg(models: list[dict[str, np.ndarray]], counts: list[int]) -> dict[str, np.ndarray]:
    """The reference, no blocks: every value and share in extended precision (x87 80-bit long double where
    NumPy has it, else float64), summed in order; its own error is far below the bound tested."""
    wide = np.longdouble
    total = wide(sum(counts))
    return {name: sum(m[name].astype(wide) * (wide(n) / total) for m, n in zip(models, counts)) for name in models[0]}


def assert_within_bound(out: dict[str, np.ndarray], models: list[dict[str, np.ndarray]], counts: list[int], group: int) -> None:
    reference = reference_fedavg(models, counts)
    assert out.keys() == reference.keys()
    for name, expected in reference.items():
        assert out[name].dtype == models[0][name].dtype and out[name].shape == expected.shape
        largest = np.max(np.abs(np.stack([m[name].astype(np.longdouble) for m in models])), axis=0)
        bound = error_bound(out[name].dtype, len(models), group) * largest
        error = np.abs(out[name].astype(np.longdouble) - expected)
        assert np.all(error <= bound * (1 + 1e-6) + np.finfo(out[name].dtype).smallest_subnormal), (name, error.max(), bound.max())


block_sizes = st.sampled_from([4, 20, 64, 256, 1000, 4096])
dtypes = st.sampled_from([np.float16, np.float32, np.float64])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_blocked_fedavg_is_within_its_error_bound_of_an_extended_precision_reference(data) -> None:
    """Random shapes (scalars, empty and block-straddling tensors), weights, dtypes, block and group sizes,
    contributor counts above the group size: every coordinate within error_bound of the exact mean."""
    dtype = data.draw(dtypes)
    k = data.draw(st.integers(1, 40))
    group = data.draw(st.sampled_from([1, 2, 3, 16]))
    shapes = {"w": data.draw(st.tuples(st.integers(0, 70), st.integers(1, 9))), "b": (data.draw(st.integers(1, 300)),), "s": ()}
    values = st.floats(-1e3, 1e3, allow_nan=False, width=16 if dtype == np.float16 else 32)
    models = [{name: data.draw(arrays(dtype, shape, elements=values)) for name, shape in shapes.items()} for _ in range(k)]
    counts = data.draw(st.lists(st.integers(1, 10**12), min_size=k, max_size=k))
    chunk = data.draw(block_sizes)
    updates = [Update(InMemoryModel(m), n) for m, n in zip(models, counts)]
    out = FedAvg(chunk_bytes=chunk, workers=data.draw(st.integers(1, 3)), group_size=group).aggregate(updates).weights
    assert_within_bound(out, models, counts, group)


def test_blocked_fedavg_from_files_straddles_blocks_and_groups(tmp_path) -> None:
    """Tensors that are not a multiple of the block, 37 contributors in groups of 16, from safetensors files."""
    from decentralml.fl import SafetensorsModel
    from decentralml.fl.weights import save_weights

    rng = np.random.default_rng(5)
    models = [{"w": rng.normal(scale=10, size=(301, 7)).astype(np.float32), "b": rng.normal(size=(7,)).astype(np.float32),
               "s": np.array(rng.normal(), dtype=np.float32)} for _ in range(37)]
    counts = [int(n) for n in rng.integers(1, 10**6, size=37)]
    for i, m in enumerate(models):
        save_weights(tmp_path / f"m{i}.safetensors", m)
    updates = [Update(SafetensorsModel(tmp_path / f"m{i}.safetensors"), n) for i, n in enumerate(counts)]
    for chunk in (64, 1000, 2 * 1024 * 1024):
        assert_within_bound(FedAvg(chunk_bytes=chunk).aggregate(updates).weights, models, counts, GROUP_SIZE)


def test_fedavg_error_bound_is_what_the_docstring_says() -> None:
    assert error_bound(np.dtype(np.float32), 10) == pytest.approx(12 * 2**-24, rel=1e-5)
    assert error_bound(np.dtype(np.float32), 100) == pytest.approx(18 * 2**-24, rel=1e-5)
    assert error_bound(np.dtype(np.float16), 3) == pytest.approx(4 * 2**-24 + 2**-11, rel=1e-5)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_fedavg_worker_count_gives_bit_identical_results(data) -> None:
    """Blocks do not depend on the number of workers: each coordinate sees the same operations in the same order."""
    k = data.draw(st.integers(1, 20))
    shapes = {"w": data.draw(st.tuples(st.integers(1, 40), st.integers(1, 5))), "b": (data.draw(st.integers(1, 9)),), "s": ()}
    models = [{name: data.draw(arrays(np.float32, shape, elements=finite)) for name, shape in shapes.items()} for _ in range(k)]
    counts = data.draw(st.lists(st.integers(1, 10_000), min_size=k, max_size=k))
    updates = [Update(InMemoryModel(m), n) for m, n in zip(models, counts)]
    chunk = data.draw(block_sizes)
    group = data.draw(st.sampled_from([2, 16]))
    reference = FedAvg(chunk_bytes=chunk, workers=1, group_size=group).aggregate(updates).weights
    for workers in (2, 3):
        out = FedAvg(chunk_bytes=chunk, workers=workers, group_size=group).aggregate(updates).weights
        assert out.keys() == reference.keys()
        for name in reference:
            np.testing.assert_array_equal(out[name], reference[name])


class RowsOnly:
    """A ModelSource with only the protocol's row reads (no ranged element reader)."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self._inner = InMemoryModel(weights)
        self.spec = self._inner.spec
        self.reads: list[tuple[str, int | None, int | None]] = []

    def read(self, name: str) -> np.ndarray:
        return self._inner.read(name)

    def read_rows(self, name: str, start: int | None, stop: int | None) -> np.ndarray:
        self.reads.append((name, start, stop))
        return self._inner.read_rows(name, start, stop)


def test_fedavg_reads_any_model_source_by_the_rows_covering_each_block() -> None:
    rng = np.random.default_rng(9)
    models = [{"w": rng.normal(size=(13, 5)).astype(np.float32), "s": np.array(rng.normal(), dtype=np.float32)} for _ in range(3)]
    sources = [RowsOnly(m) for m in models]
    out = FedAvg(chunk_bytes=3 * 4 * 7, workers=1).aggregate([Update(s, n) for s, n in zip(sources, (1, 2, 3))]).weights
    expected = FedAvg().aggregate([Update(InMemoryModel(m), n) for m, n in zip(models, (1, 2, 3))]).weights
    for name in expected:
        np.testing.assert_allclose(out[name], expected[name], rtol=2e-6)
    # blocks of 7 elements straddle rows of 5: each read covers its block's rows and no more
    assert ("w", 0, 2) in sources[0].reads and ("w", 1, 3) in sources[0].reads
    assert all(stop - start <= 3 for name, start, stop in sources[0].reads if name == "w" and start is not None and stop is not None)
