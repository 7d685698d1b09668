"""Private CSV shards for split learning, and reading them back as tensors.

scikit-learn's breast-cancer data stands in for a tabular medical CSV
(tabular, binary) and its digits data for the image path (8x8 greyscale,
10 classes). Preparation is deterministic for a seed: a stratified held-out
test set, then the rest dealt into one private shard per participant.
Features are standardised (tabular) or scaled to [0, 1] (digits) with
statistics of the training union before sharding, as a single data owner would
before splitting. Every CSV has a header; the label column is ``target``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decentralml.errors import UsageError
from decentralml.fl.split.model import MAX_SEED
from decentralml.primitives.staging import NewOutputs

#: The most shards prepare_shards writes (each holds at least one training row, so the datasets give fewer).
MAX_SHARDS = 10_000

LABEL = "target"
DATASETS = ("breast_cancer", "digits")


@dataclass(frozen=True)
class Shards:
    """Paths of the participants' private CSVs and the held-out test CSV."""

    participants: tuple[Path, ...]
    test: Path
    features: int
    classes: int


def _load(dataset: str) -> tuple[Any, Any, list[str]]:
    import numpy as np
    from sklearn import datasets

    if dataset == "breast_cancer":
        bunch = datasets.load_breast_cancer()
        names = [name.replace(" ", "_") for name in bunch.feature_names]
    elif dataset == "digits":
        bunch = datasets.load_digits()
        names = [f"px{i}" for i in range(bunch.data.shape[1])]
    else:
        raise UsageError(f"Unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}.")
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64), names


#: The name of a participant's shard in OUT_DIR (``participant<i>.csv``).
PARTICIPANT_FILE = re.compile(r"participant[1-9][0-9]*\.csv")


def prepare_shards(
    dataset: str, out_dir: Path, *, participants: int = 3, seed: int = 0, test_fraction_pct: int = 20, force: bool = False
) -> Shards:
    """Write ``participant<i>.csv`` (i = 1..participants) and ``test.csv`` under ``out_dir``, all or nothing.

    UsageError before anything is written: fewer than one or more participants than training
    rows, a seed outside ``0..MAX_SEED``, ``out_dir`` not a directory, or one of the files
    already there without ``force`` (:class:`~decentralml.primitives.staging.NewOutputs`).
    """
    import numpy as np
    from sklearn.model_selection import train_test_split

    if not 1 <= participants <= MAX_SHARDS:
        raise UsageError(f"Split learning needs 1..{MAX_SHARDS} participant shards, not {participants}.")
    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"The seed {seed} is not in 0..{MAX_SEED}.")
    names_out = [f"participant{index}.csv" for index in range(1, participants + 1)]
    # --force replaces the whole set: a former run's participant<i>.csv beyond this one's count goes too
    outputs = NewOutputs(Path(out_dir), [*names_out, "test.csv"], force=force, family=PARTICIPANT_FILE)
    features, labels, names = _load(dataset)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=test_fraction_pct / 100, random_state=seed, stratify=labels
    )
    if dataset == "breast_cancer":
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        std[std == 0] = 1.0
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    else:
        x_train, x_test = x_train / 16.0, x_test / 16.0
    if participants > len(y_train):
        raise UsageError(f"{participants} participants is more than the {len(y_train)} training rows of {dataset}.")
    order = np.random.RandomState(seed).permutation(len(y_train))
    with outputs.staged() as staging:
        for name, chunk in zip(names_out, np.array_split(order, participants)):
            _write_csv(staging / name, names, x_train[chunk], y_train[chunk])
        _write_csv(staging / "test.csv", names, x_test, y_test)
    out_dir = Path(out_dir)
    return Shards(participants=tuple(out_dir / name for name in names_out), test=out_dir / "test.csv",
                  features=features.shape[1], classes=int(labels.max()) + 1)


def _write_csv(path: Path, names: list[str], features: Any, labels: Any) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*names, LABEL])
        for row, label in zip(features, labels):
            writer.writerow([f"{value:.6g}" for value in row] + [int(label)])


def read_csv(path: Path, *, features: int, image_size: int = 0) -> tuple[Any, Any]:
    """``(inputs, labels)`` tensors from a shard; images are reshaped to ``(n, 1, s, s)``."""
    import numpy as np
    import torch

    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError as exc:
        raise UsageError(f"Training data {path} does not exist: point the task at your private CSV.") from exc
    if not rows or LABEL not in rows[0]:
        raise UsageError(f"{path} has no '{LABEL}' column: the CSV needs a header with a {LABEL} column.")
    header = rows[0]
    label_index = header.index(LABEL)
    if len(header) - 1 != features:
        raise UsageError(f"{path} has {len(header) - 1} feature columns, the network expects {features}.")
    try:
        table = np.array([[float(v) for v in row] for row in rows[1:] if row], dtype=np.float32)
    except ValueError as exc:
        raise UsageError(f"{path} holds a non-numeric value ({exc}): clean the CSV.") from exc
    if table.size == 0:
        raise UsageError(f"{path} has no data rows.")
    labels = torch.from_numpy(table[:, label_index].astype(np.int64))
    inputs = torch.from_numpy(np.delete(table, label_index, axis=1))
    if image_size:
        inputs = inputs.reshape(-1, 1, image_size, image_size)
    return inputs, labels
