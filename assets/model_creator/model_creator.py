"""The creator's side of a federated task: the initial model, the contributor bundle, validation, federation.

Runs on the creator's machine with the decentralml client installed. The model
definition is the one shipped to contributors (``model_contributor.py`` of the
contributor bundle named in settings), so both sides train and evaluate one
architecture. Contributions come back as data only (safetensors + JSON) and
are checked by :mod:`decentralml.fl` before anything uses them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from decentralml.errors import TrainingError, UsageError
from decentralml.fl.framework_logs import quiet_framework_logs
from decentralml.fl.strategy import AggregateResult, Update, strategy_by_name
from decentralml.fl.validation import Evaluation, ValidationReport
from decentralml.fl.validation import validate_contribution as check_contribution
from decentralml.fl.weights import (
    ModelSpec,
    Weights,
    load_result_dir,
    load_weights,
    read_spec,
    save_weights,
)
from decentralml.primitives.digests import file_digest
from decentralml.primitives.localpaths import check_path_text
from decentralml.primitives.scale import U32_MAX
from decentralml.primitives.staging import NewOutputs

try:  # imported as a package by `decentralml federate`, or run from this directory
    from . import settings as settings_module
except ImportError:  # pragma: no cover - script mode
    import settings as settings_module  # type: ignore[no-redef]

SETTINGS = settings_module.SETTINGS
CreatorSettings = settings_module.CreatorSettings

HERE = Path(__file__).resolve().parent
FRAMEWORK_REQUIREMENT = {"tensorflow": "tensorflow-cpu>=2.16", "torch": "torch>=2.3"}


# ---------------------------------------------------------------- the shared model code


@lru_cache(maxsize=None)
def _contributor_code(bundle_dir: str) -> ModuleType:
    """The contributor bundle's model_contributor module (the creator's own code, shipped to contributors)."""
    directory = Path(bundle_dir)
    source = directory / "model_contributor.py"
    if not source.is_file():
        raise UsageError(f"No contributor bundle at {directory}; set contributor_bundle in settings.py.")
    name = f"decentralml_contributor_code_{hashlib.sha256(str(directory).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(name, source, submodule_search_locations=[str(directory)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def contributor_code(settings: CreatorSettings = SETTINGS) -> ModuleType:
    return _contributor_code(str((HERE / settings.contributor_bundle).resolve()))


def training_settings(settings: CreatorSettings = SETTINGS) -> Any:
    """The contributor bundle's TrainingSettings for these creator settings."""
    code = contributor_code(settings)
    return code.TrainingSettings(**settings.training_fields())


def framework_name(settings: CreatorSettings = SETTINGS) -> str:
    return settings.framework


# ---------------------------------------------------------------- create / train / evaluate / save


def create_model(settings: CreatorSettings = SETTINGS) -> Any:
    """The model structure, compiled (Keras) or built (PyTorch), seeded by settings.seed."""
    return contributor_code(settings).create_model(training_settings(settings))


def train_model(model: Any, x_train: np.ndarray, y_train: np.ndarray, epochs: int = 1,
                settings: CreatorSettings = SETTINGS) -> Any:
    return contributor_code(settings).train_model(model, x_train, y_train, training_settings(settings), epochs)


def evaluate_model(model: Any, x_test: np.ndarray, y_test: np.ndarray, settings: CreatorSettings = SETTINGS) -> tuple[float, float]:
    """(loss, accuracy) on (x_test, y_test)."""
    return contributor_code(settings).evaluate_model(model, x_test, y_test, training_settings(settings))


def get_model_weights(model: Any, settings: CreatorSettings = SETTINGS) -> Weights:
    return contributor_code(settings).get_weights(model, training_settings(settings))


def set_model_weights(model: Any, weights: Weights, settings: CreatorSettings = SETTINGS) -> Any:
    return contributor_code(settings).set_weights(model, weights, training_settings(settings))


def save_model(model: Any, output_path: Path, model_name: str | None = None, settings: CreatorSettings = SETTINGS) -> Path:
    """Save the model's weights as ``<output_path>/<model_name>.safetensors``; return the path."""
    path = Path(output_path) / f"{model_name or settings.model_name}.safetensors"
    save_weights(path, get_model_weights(model, settings))
    return path


def load_data(settings: CreatorSettings = SETTINGS) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)); the test part is the creator's held-out data."""
    return contributor_code(settings).load_dataset(training_settings(settings))


# ---------------------------------------------------------------- the contributor bundle


def prepare_contributor_bundle(global_model: Path | None, out_dir: Path, settings: CreatorSettings = SETTINGS) -> Path:
    """Copy the contributor bundle with these settings and the framework's requirement.

    With ``global_model`` the model travels inside the bundle (``global_model.safetensors``); on chain
    pass None and publish it as the task's base model instead (assign-task puts it at ``base_model``).
    """
    source = (HERE / settings.contributor_bundle).resolve()
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise UsageError(f"{out_dir} already exists; choose a fresh directory for the bundle.")
    shutil.copytree(source, out_dir, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "result*", "global_model.safetensors"))
    code = contributor_code(settings)
    settings_module = sys.modules[f"{code.__name__}.settings"]
    (out_dir / "settings.py").write_text(settings_module.render(training_settings(settings)))
    requirements = [line for line in (out_dir / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith(("tensorflow", "torch"))]
    requirements.append(FRAMEWORK_REQUIREMENT[settings.framework])
    (out_dir / "requirements.txt").write_text("\n".join(requirements) + "\n")
    if global_model is not None:
        shutil.copyfile(global_model, out_dir / "global_model.safetensors")
    return out_dir


def copy_creator_bundle(out_dir: Path, settings: CreatorSettings) -> Path:
    """A copy of this bundle and its contributor bundle under ``out_dir`` with ``settings`` written in.

    Returns the copy's model_creator directory (its contributor_bundle points at the copied contributor bundle).
    """
    out_dir = Path(out_dir)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "result*", "global_model.safetensors", "base_model")
    creator_dir = out_dir / "model_creator"
    shutil.copytree(HERE, creator_dir, ignore=ignore)
    shutil.copytree((HERE / settings.contributor_bundle).resolve(), out_dir / "model_contributor", ignore=ignore)
    settings = replace(settings, contributor_bundle="../model_contributor")
    (creator_dir / "settings.py").write_text(settings_module.render(settings))
    return creator_dir


def initial_global_model(output_path: Path, settings: CreatorSettings = SETTINGS, pretrain_epochs: int = 0) -> Path:
    """Round 0: a fresh model (optionally trained a little on the creator's data) saved as safetensors."""
    model = create_model(settings)
    if pretrain_epochs:
        (x, y), _ = load_data(settings)
        train_model(model, x, y, pretrain_epochs, settings)
    return save_model(model, output_path, settings.model_name, settings)


# ---------------------------------------------------------------- validation and federation


def evaluate_weights(weights: Weights, settings: CreatorSettings = SETTINGS) -> Evaluation:
    """Loss and accuracy of the given weights on the creator's held-out data."""
    model = set_model_weights(create_model(settings), weights, settings)
    _, (x_test, y_test) = load_data(settings)
    loss, accuracy = evaluate_model(model, x_test, y_test, settings)
    return Evaluation(loss, accuracy)


def validate_contribution(weights_path: Path, metrics_json: bytes | str, base_model_path: Path,
                          settings: CreatorSettings = SETTINGS) -> ValidationReport:
    """The creator's validation function: well-formed, finite, same shapes, same base, accurate enough."""
    return check_contribution(
        Path(weights_path),
        metrics_json,
        base_spec=read_spec(Path(base_model_path)),
        base_digest=file_digest(Path(base_model_path))[0].hex(),
        evaluate=lambda w: evaluate_weights(w, settings),
        threshold=settings.validation_threshold,
        framework=settings.framework,
    )


def shard_size(settings: CreatorSettings = SETTINGS) -> int:
    """The most samples one contributor's shard holds: ``decentralml federate`` weighs no result by more."""
    (_, y_train), _ = load_data(settings)
    code, training = contributor_code(settings), training_settings(settings)
    return max(len(code.shard_indices(y_train, i, training)) for i in range(settings.num_contributors))


def load_contributors_models(contributors_models_path: Path, base_model_path: Path) -> list[Update]:
    """Every result directory under the path, checked against the base model (data only, nothing executed)."""
    base_spec: ModelSpec = read_spec(Path(base_model_path))
    base_digest = file_digest(Path(base_model_path))[0].hex()
    updates = []
    for directory in sorted(p for p in Path(contributors_models_path).iterdir() if p.is_dir()):
        result = load_result_dir(directory, base_spec=base_spec, base_digest=base_digest)
        updates.append(Update(result.weights, result.metrics.num_samples, directory.name))
    if not updates:
        raise TrainingError(f"No result directories under {contributors_models_path}.")
    return updates


def federate_contributors_model(contributors_models: list[Update], policy: str | None = None,
                                settings: CreatorSettings = SETTINGS) -> AggregateResult:
    """Aggregate the accepted updates with the given rule (default: settings.strategy; FedAvg weighs by samples)."""
    return strategy_by_name(policy or settings.strategy).aggregate(contributors_models)


def load_global_weights(path: Path) -> Weights:
    return load_weights(Path(path))


def with_framework(framework: str, settings: CreatorSettings = SETTINGS) -> CreatorSettings:
    """These settings with another framework (tests and the demo run both)."""
    if framework not in FRAMEWORK_REQUIREMENT:
        raise UsageError(f"Unknown framework {framework!r}; use tensorflow or torch.")
    return replace(settings, framework=framework)


#: What ``init`` writes in OUT_DIR (round 0): the initial global model and the contributors' bundle.
GLOBAL_MODEL = "global_model"
CONTRIBUTOR_BUNDLE = "contributor_bundle"


def _path_argument(text: str) -> Path:
    """A path argument: the empty string (which would be the current directory) is refused."""
    import argparse

    try:
        return Path(check_path_text(text))
    except UsageError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def main(argv: list[str] | None = None) -> int:
    """``python model_creator.py init OUT_DIR``: round 0 (the initial global model and the contributor bundle)."""
    import argparse

    parser = argparse.ArgumentParser(description="The creator's bundle: prepare round 0 of a federated task.")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="Write OUT_DIR/global_model.safetensors and OUT_DIR/contributor_bundle/, all or nothing.")
    init.add_argument("out_dir", type=_path_argument)
    init.add_argument("--pretrain-epochs", type=int, default=0, help="Train the initial model on the creator's data first.")
    init.add_argument("--force", action="store_true", help="Replace the global model and the bundle if OUT_DIR holds them.")
    parser.add_argument("--debug", action="store_true", help="Show TensorFlow's start-up logging.")
    args = parser.parse_args(argv)
    quiet_framework_logs(args.debug)
    if not 0 <= args.pretrain_epochs <= U32_MAX:
        parser.error(f"--pretrain-epochs must be in 0..{U32_MAX}")
    out = Path(args.out_dir)
    try:  # checked before the model is built: OUT_DIR is a directory, nothing is replaced without --force
        outputs = NewOutputs(out, (f"{GLOBAL_MODEL}.safetensors", CONTRIBUTOR_BUNDLE), force=args.force)
    except UsageError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc.one_line()}\n")
    model = create_model()
    if args.pretrain_epochs:
        (x, y), _ = load_data()
        train_model(model, x, y, args.pretrain_epochs)
    with outputs.staged() as staging:
        save_model(model, staging, GLOBAL_MODEL)
        prepare_contributor_bundle(None, staging / CONTRIBUTOR_BUNDLE)
    path, bundle = out / f"{GLOBAL_MODEL}.safetensors", out / CONTRIBUTOR_BUNDLE
    evaluation = evaluate_weights(load_global_weights(path))
    import json

    print(json.dumps({"global_model": str(path), "digest": file_digest(path)[0].hex(), "contributor_bundle": str(bundle),
                      "framework": SETTINGS.framework, "accuracy": evaluation.accuracy}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
