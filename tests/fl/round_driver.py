"""One federated round with the bundles in a fresh process (TensorFlow and PyTorch cannot share a process:
both register the same LLVM options and abort). Prints one JSON object."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from decentralml.primitives.digests import file_digest
from tests.fl.bundles import creator_bundle


def main(framework: str, workdir: str) -> None:
    tmp = Path(workdir)
    creator = creator_bundle()
    settings = creator.with_framework(framework, creator.SETTINGS)
    base = creator.initial_global_model(tmp, settings)
    start = creator.evaluate_weights(creator.load_global_weights(base), settings)
    bundle = creator.prepare_contributor_bundle(base, tmp / "bundle", settings)
    code = creator.contributor_code(settings)
    training = creator.training_settings(settings)
    results = tmp / "results"
    metrics = [code.contribute(base, results / f"c{i}", i, None, f"c{i}", training) for i in range(settings.num_contributors)]
    reports = [
        creator.validate_contribution(d / "weights.safetensors", (d / "metrics.json").read_bytes(), base, settings)
        for d in sorted(results.iterdir())
    ]
    updates = creator.load_contributors_models(results, base)
    federated = creator.federate_contributors_model(updates, "fedavg", settings)
    after = creator.evaluate_weights(federated.weights, settings)
    print(json.dumps({
        "requirements": (bundle / "requirements.txt").read_text(),
        "metrics": metrics,
        "base_digest": file_digest(base)[0].hex(),
        "passed": [r.passed for r in reports],
        "reasons": [r.reason for r in reports],
        "samples": sum(u.num_samples for u in updates),
        "train_size": int(len(creator.load_data(settings)[0][1])),
        "start_accuracy": start.accuracy,
        "federated_accuracy": after.accuracy,
        "modules": sorted(m for m in ("tensorflow", "torch") if m in sys.modules),
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
