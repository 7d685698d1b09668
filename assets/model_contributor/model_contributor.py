"""The contributor's side of a federated round: load the global model, train on a shard, save the result.

Run through ``./start_task.sh`` (see its header for the contract). The result
directory holds exactly ``weights.safetensors`` (named float tensors, no
code) and ``metrics.json`` (num_samples, loss, accuracy, framework,
base_model_digest, contributor_id). This file is also the model definition the
creator evaluates with, so both sides use one architecture.

Weights use one layout for both frameworks: ``dense_<i>.kernel`` with shape
(inputs, outputs) and ``dense_<i>.bias``; the PyTorch adapter transposes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import string
import sys
from pathlib import Path
from typing import Any

import numpy as np

try:  # imported as a package by the creator, run as a script by start_task.sh
    from .settings import SETTINGS, TrainingSettings
except ImportError:  # pragma: no cover - script mode
    from settings import SETTINGS, TrainingSettings  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
WEIGHTS_FILE = "weights.safetensors"
METRICS_FILE = "metrics.json"
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


class ContributionError(Exception):
    """A contribution cannot be produced; the message says what to do."""


# ---------------------------------------------------------------- model (both frameworks)


def layer_sizes(settings: TrainingSettings = SETTINGS) -> list[tuple[int, int]]:
    return [(settings.num_features, settings.hidden_units), (settings.hidden_units, settings.num_classes)]


def create_model(settings: TrainingSettings = SETTINGS) -> Any:
    """A small MLP: inputs -> hidden (ReLU) -> class logits, in the configured framework."""
    if settings.framework == "tensorflow":
        import keras

        keras.utils.set_random_seed(settings.seed)
        model = keras.Sequential(
            [
                keras.Input(shape=(settings.num_features,)),
                keras.layers.Dense(settings.hidden_units, activation="relu"),
                keras.layers.Dense(settings.num_classes),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(settings.learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy()],
        )
        return model
    if settings.framework == "torch":
        import torch

        torch.manual_seed(settings.seed)
        (i, h), (_, c) = layer_sizes(settings)
        return torch.nn.Sequential(torch.nn.Linear(i, h), torch.nn.ReLU(), torch.nn.Linear(h, c))
    raise ContributionError(f"Unknown framework {settings.framework!r}: use 'tensorflow' or 'torch' in settings.py.")


def _dense_layers(model: Any, settings: TrainingSettings) -> list[Any]:
    if settings.framework == "tensorflow":
        return [layer for layer in model.layers if hasattr(layer, "kernel")]
    import torch

    return [m for m in model if isinstance(m, torch.nn.Linear)]


def get_weights(model: Any, settings: TrainingSettings = SETTINGS) -> dict[str, np.ndarray]:
    """The model's parameters as named float32 arrays in the shared layout."""
    out: dict[str, np.ndarray] = {}
    for i, layer in enumerate(_dense_layers(model, settings)):
        if settings.framework == "tensorflow":
            kernel, bias = (np.asarray(v) for v in layer.get_weights())
        else:
            kernel = layer.weight.detach().cpu().numpy().T
            bias = layer.bias.detach().cpu().numpy()
        out[f"dense_{i}.kernel"] = np.ascontiguousarray(kernel, dtype=np.float32)
        out[f"dense_{i}.bias"] = np.ascontiguousarray(bias, dtype=np.float32)
    return out


def set_weights(model: Any, weights: dict[str, np.ndarray], settings: TrainingSettings = SETTINGS) -> Any:
    """Load named arrays (shared layout) into the model; shapes must match."""
    layers = _dense_layers(model, settings)
    expected = {f"dense_{i}.{p}" for i in range(len(layers)) for p in ("kernel", "bias")}
    if set(weights) != expected:
        raise ContributionError(f"The weights name {sorted(weights)}; the model needs {sorted(expected)}.")
    for i, layer in enumerate(layers):
        kernel, bias = weights[f"dense_{i}.kernel"], weights[f"dense_{i}.bias"]
        if settings.framework == "tensorflow":
            layer.set_weights([kernel, bias])
        else:
            import torch

            with torch.no_grad():
                if tuple(layer.weight.shape) != kernel.T.shape or tuple(layer.bias.shape) != bias.shape:
                    raise ContributionError(f"dense_{i} has shape {kernel.shape}; the model needs another.")
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
                layer.bias.copy_(torch.from_numpy(np.ascontiguousarray(bias)))
    return model


def train_model(model: Any, x_train: np.ndarray, y_train: np.ndarray, settings: TrainingSettings = SETTINGS,
                epochs: int | None = None) -> Any:
    """Train in place with Adam for ``epochs`` (default: the settings) and return the model."""
    epochs = settings.epochs if epochs is None else epochs
    if settings.framework == "tensorflow":
        model.fit(x_train, y_train, epochs=epochs, batch_size=settings.batch_size, verbose=0, shuffle=True)
        return model
    import torch

    generator = torch.Generator().manual_seed(settings.seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.from_numpy(np.asarray(x_train, dtype=np.float32))
    y = torch.from_numpy(np.asarray(y_train, dtype=np.int64))
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            optimiser.zero_grad()
            loss = loss_fn(model(x[batch]), y[batch])
            loss.backward()
            optimiser.step()
    return model


def evaluate_model(model: Any, x: np.ndarray, y: np.ndarray, settings: TrainingSettings = SETTINGS) -> tuple[float, float]:
    """(loss, accuracy) of the model on (x, y)."""
    if settings.framework == "tensorflow":
        loss, accuracy = model.evaluate(x, y, verbose=0, batch_size=512)
        return float(loss), float(accuracy)
    import torch

    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(np.asarray(x, dtype=np.float32)))
        target = torch.from_numpy(np.asarray(y, dtype=np.int64))
        loss = torch.nn.functional.cross_entropy(logits, target).item()
        accuracy = (logits.argmax(dim=1) == target).float().mean().item()
    return float(loss), float(accuracy)


# ---------------------------------------------------------------- data


def load_dataset(settings: TrainingSettings = SETTINGS, cache_dir: Path | None = None) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)) of the configured dataset, features scaled to [0, 1]."""
    if settings.dataset == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        x = (bunch.data / 16.0).astype(np.float32)
        y = bunch.target.astype(np.int64)
        rng = np.random.default_rng(settings.seed)
        test_idx, train_idx = [], []
        for label in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == label))
            cut = int(round(len(idx) * settings.test_fraction))
            test_idx.append(idx[:cut])
            train_idx.append(idx[cut:])
        train, test = np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(test_idx))
        return (x[train], y[train]), (x[test], y[test])
    if settings.dataset == "mnist":
        import urllib.request

        cache = cache_dir or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "decentralml" / "datasets"
        target = cache / "mnist.npz"
        if not target.is_file():
            cache.mkdir(parents=True, exist_ok=True)
            try:
                urllib.request.urlretrieve(MNIST_URL, target)
            except OSError as exc:
                raise ContributionError(f"MNIST could not be downloaded ({exc}); place mnist.npz in {cache} or use digits.") from exc
        with np.load(target, allow_pickle=False) as a:
            flat = lambda v: (v.reshape(len(v), -1) / 255.0).astype(np.float32)  # noqa: E731
            return (flat(a["x_train"]), a["y_train"].astype(np.int64)), (flat(a["x_test"]), a["y_test"].astype(np.int64))
    raise ContributionError(f"Unknown dataset {settings.dataset!r}: use 'digits' or 'mnist'.")


def shard_indices(labels: np.ndarray, index: int, settings: TrainingSettings = SETTINGS) -> np.ndarray:
    """Indices of contributor ``index``'s shard (same rules as decentralml.fl.data)."""
    n = settings.num_contributors
    if not 0 <= index < n:
        raise ContributionError(f"Contributor index {index} is out of range 0..{n - 1}.")
    if settings.shard_strategy == "iid":
        order = np.random.default_rng(settings.seed).permutation(len(labels))
        return np.sort(np.array_split(order, n)[index])
    if settings.shard_strategy == "dirichlet":
        rng = np.random.default_rng(settings.seed)
        shards: list[list[np.ndarray]] = [[] for _ in range(n)]
        for label in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == label))
            proportions = rng.dirichlet(np.full(n, settings.dirichlet_alpha))
            cuts = (np.cumsum(proportions)[:-1] * len(idx)).astype(int)
            for shard, part in zip(shards, np.split(idx, cuts)):
                shard.append(part)
        chosen = np.concatenate(shards[index])
        if chosen.size == 0:
            chosen = np.array([int(np.flatnonzero(labels == np.bincount(labels).argmax())[index])])
        return np.sort(chosen)
    raise ContributionError(f"Unknown shard strategy {settings.shard_strategy!r}: use 'iid' or 'dirichlet'.")


def load_data(contributor_index: int | None = None, data_path: Path | None = None,
              settings: TrainingSettings = SETTINGS) -> tuple[np.ndarray, np.ndarray]:
    """The contributor's training data: its own CSV/NPZ file, or its shard of the creator's dataset."""
    if data_path is not None:
        return load_local_data(Path(data_path), settings)
    if contributor_index is None:
        raise ContributionError("Give a contributor index (--contributor-index) or your own data (--data).")
    (x, y), _ = load_dataset(settings)
    idx = shard_indices(y, contributor_index, settings)
    return x[idx], y[idx]


def load_local_data(path: Path, settings: TrainingSettings = SETTINGS) -> tuple[np.ndarray, np.ndarray]:
    """CSV rows of features then label (optional header), or NPZ with arrays x and y (no pickles)."""
    if not path.is_file():
        raise ContributionError(f"Data file {path} does not exist.")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as a:
                x, y = np.array(a["x"]), np.array(a["y"])
        except (ValueError, KeyError) as exc:
            raise ContributionError(f"{path.name} must hold numeric arrays 'x' and 'y' ({exc}).") from exc
    elif path.suffix == ".csv":
        try:
            table = np.loadtxt(path, delimiter=",", ndmin=2)
        except ValueError:
            table = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1)
        x, y = table[:, :-1], table[:, -1]
    else:
        raise ContributionError(f"{path.name}: use a .csv (features..., label) or .npz (x, y) file.")
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    if x.shape[1] != settings.num_features or not np.isfinite(x).all() or len(x) == 0:
        raise ContributionError(f"{path.name} must hold finite rows of {settings.num_features} features.")
    return x, np.asarray(y, dtype=np.int64)


# ---------------------------------------------------------------- weights files


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_model(model_path: Path, settings: TrainingSettings = SETTINGS) -> Any:
    """The global model: a fresh model with the safetensors weights the creator published."""
    from safetensors.numpy import load_file

    try:
        weights = load_file(str(model_path))
    except Exception as exc:
        raise ContributionError(f"{model_path} is not a readable safetensors model ({exc}).") from exc
    if not all(np.isfinite(v).all() for v in weights.values()):
        raise ContributionError(f"{model_path} holds NaN or infinite weights.")
    return set_weights(create_model(settings), weights, settings)


def get_random_string(length: int = 10) -> str:
    return "".join(random.SystemRandom().choice(string.ascii_lowercase) for _ in range(length))


def save_model(model: Any, output_path: Path, metrics: dict[str, object], settings: TrainingSettings = SETTINGS,
               contributor_id: str | None = None) -> Path:
    """Write the result directory: weights.safetensors + metrics.json (with the contributor id)."""
    from safetensors.numpy import save_file

    output_path = Path(output_path)
    output_path.mkdir(parents=True, exist_ok=True)
    leftovers = [p.name for p in output_path.iterdir() if p.name not in (WEIGHTS_FILE, METRICS_FILE)]
    if leftovers:
        raise ContributionError(f"{output_path} must be empty (found {leftovers}); choose a fresh output directory.")
    save_file(get_weights(model, settings), str(output_path / WEIGHTS_FILE))
    document = dict(metrics, contributor_id=contributor_id or get_random_string())
    (output_path / METRICS_FILE).write_text(json.dumps(document, sort_keys=True))
    return output_path


# ---------------------------------------------------------------- the task


def contribute(global_model: Path, output: Path, contributor_index: int | None = None, data_path: Path | None = None,
               contributor_id: str | None = None, settings: TrainingSettings = SETTINGS) -> dict[str, object]:
    """Train the global model on this contributor's data and write the result directory; return the metrics."""
    base_digest = file_digest(global_model)
    model = load_model(global_model, settings)
    x, y = load_data(contributor_index, data_path, settings)
    train_model(model, x, y, settings)
    loss, accuracy = evaluate_model(model, x, y, settings)
    metrics: dict[str, object] = {
        "num_samples": int(len(y)),
        "loss": loss,
        "accuracy": accuracy,
        "framework": settings.framework,
        "base_model_digest": base_digest,
    }
    save_model(model, output, metrics, settings, contributor_id)
    return metrics


def default_global_model() -> Path:
    """``base_model`` (placed next to this file by ``decentralml assign-task``, digest-checked), else
    ``global_model.safetensors`` (a bundle prepared with the model inside)."""
    assigned = HERE / "base_model"
    return assigned if assigned.is_file() else HERE / "global_model.safetensors"


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the creator's global model on your data and write the result.")
    parser.add_argument("--global-model", type=Path, default=os.environ.get("DECENTRALML_GLOBAL_MODEL") or default_global_model())
    parser.add_argument("--output", type=Path, default=os.environ.get("DECENTRALML_OUTPUT_DIR") or Path.cwd() / "result")
    parser.add_argument("--contributor-index", type=int, default=_env_int("DECENTRALML_CONTRIBUTOR_INDEX"))
    parser.add_argument("--data", type=Path, default=os.environ.get("DECENTRALML_DATA") or None)
    parser.add_argument("--contributor-id", default=os.environ.get("DECENTRALML_CONTRIBUTOR_ID") or None)
    parser.add_argument("--debug", action="store_true", default=os.environ.get("DECENTRALML_DEBUG", "").lower() in ("1", "true", "yes"),
                        help="Show TensorFlow's start-up logging.")
    args = parser.parse_args(argv)
    if not args.debug:
        # TensorFlow's start-up lines off the terminal (decentralml.fl.framework_logs explains both
        # variables; this bundle runs without decentralml installed, so it sets them itself).
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    if not Path(args.global_model).is_file():
        print(f"error: no global model at {args.global_model}; pass --global-model PATH.", file=sys.stderr)
        return 2
    try:
        metrics = contribute(args.global_model, args.output, args.contributor_index, args.data, args.contributor_id)
    except ContributionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"output": str(args.output), **metrics}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
