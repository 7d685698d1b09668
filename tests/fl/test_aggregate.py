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


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_fedavg_threads_and_chunk_sizes_give_bit_identical_results(data) -> None:
    """Each coordinate sees the same float32 operations in the same order, whoever computes its chunk."""
    k = data.draw(st.integers(1, 5))
    shapes = {"w": data.draw(st.tuples(st.integers(1, 40), st.integers(1, 5))), "b": (data.draw(st.integers(1, 9)),), "s": ()}
    models = [{name: data.draw(arrays(np.float32, shape, elements=finite)) for name, shape in shapes.items()} for _ in range(k)]
    counts = data.draw(st.lists(st.integers(1, 10_000), min_size=k, max_size=k))
    updates = [Update(InMemoryModel(m), n) for m, n in zip(models, counts)]
    reference = FedAvg().aggregate(updates).weights
    chunk = data.draw(st.sampled_from([4, 20, 64, 256]))
    for workers in (1, 2, 3):
        out = FedAvg(chunk_bytes=chunk, workers=workers).aggregate(updates).weights
        assert out.keys() == reference.keys()
        for name in reference:
            np.testing.assert_array_equal(out[name], reference[name])
