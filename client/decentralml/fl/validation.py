"""Checking a contribution before it is accepted (CustomAccept) or shown (ManualAccept).

The checks refuse malformed files, NaN/inf, tensors that differ from the base
model, contributions trained from another base model, and models whose
accuracy on the creator's held-out data is below the threshold. The
evaluation itself is the creator's function (from the creator's bundle);
nothing the contributor sent is executed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from decentralml.errors import DecentralMLError, IntegrityError, TrainingError
from decentralml.fl.weights import ContributionMetrics, ModelSpec, Weights, load_result


@dataclass(frozen=True)
class Evaluation:
    """Loss and accuracy (0..1) of a model on held-out data."""

    loss: float
    accuracy: float


@dataclass(frozen=True)
class ValidationReport:
    """The verdict on one contribution and why."""

    passed: bool
    reason: str
    evaluation: Evaluation | None = None
    metrics: ContributionMetrics | None = None

    @property
    def score_bp(self) -> int:
        """The held-out accuracy in basis points (0..10_000), 0 when not evaluated."""
        if self.evaluation is None:
            return 0
        return max(0, min(10_000, round(self.evaluation.accuracy * 10_000)))


Evaluator = Callable[[Weights], Evaluation]


def validate_contribution(
    weights_path: Path,
    metrics: str | bytes | ContributionMetrics,
    *,
    base_spec: ModelSpec,
    base_digest: str,
    evaluate: Evaluator,
    threshold: float,
    framework: str | None = None,
) -> ValidationReport:
    """Check and evaluate one contribution; never raises for a bad contribution, reports it instead."""
    try:
        result = load_result(Path(weights_path), metrics, base_spec=base_spec, base_digest=base_digest)
        if framework is not None and result.metrics.framework != framework:
            return ValidationReport(
                False, f"trained with {result.metrics.framework}, the task uses {framework}", metrics=result.metrics
            )
        weights = result.weights.load()
    except (TrainingError, IntegrityError) as exc:
        return ValidationReport(False, exc.message)
    try:
        evaluation = evaluate(weights)
    except DecentralMLError:
        raise
    except Exception as exc:  # the creator's evaluation could not run this model
        return ValidationReport(False, f"evaluation failed: {exc}", metrics=result.metrics)
    if not evaluation.accuracy == evaluation.accuracy or not evaluation.loss == evaluation.loss:
        return ValidationReport(False, "evaluation produced NaN", evaluation, result.metrics)
    if evaluation.accuracy < threshold:
        return ValidationReport(
            False,
            f"held-out accuracy {evaluation.accuracy:.3f} is below the threshold {threshold:.3f}",
            evaluation,
            result.metrics,
        )
    return ValidationReport(True, f"held-out accuracy {evaluation.accuracy:.3f} >= {threshold:.3f}", evaluation, result.metrics)
