"""Entry point of the split-learning initiator (creator) bundle (run through ./start_task.sh)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTICIPANT = HERE.parent / "participant"


def main(argv: list[str] | None = None) -> int:
    from decentralml.errors import DecentralMLError
    from decentralml.fl.split.runner import load_config, run_initiator

    parser = argparse.ArgumentParser(description="Aggregate the participants' server halves and train the main model.")
    parser.add_argument("--data", type=Path, default=os.environ.get("DECENTRALML_DATA") or None)
    parser.add_argument("--result", type=Path, action="append", default=[])
    parser.add_argument("--base-model", type=Path,
                        default=os.environ.get("DECENTRALML_BASE_MODEL") or PARTICIPANT / "base_model.safetensors")
    parser.add_argument("--config", type=Path, default=PARTICIPANT / "config.json")
    parser.add_argument("--strategy", default=os.environ.get("DECENTRALML_STRATEGY") or "fedavg",
                        help="fedavg (weighted by samples), median, trimmed-mean or krum")
    parser.add_argument("--test", type=Path, default=os.environ.get("DECENTRALML_TEST") or None)
    parser.add_argument("--output", type=Path, default=os.environ.get("DECENTRALML_OUTPUT_DIR") or Path.cwd() / "main_model")
    args = parser.parse_args(argv)
    if args.data is None:
        print("error: give the initiator's own CSV with --data FILE (or DECENTRALML_DATA).", file=sys.stderr)
        return 2
    try:
        metrics = run_initiator(load_config(args.config), args.base_model, args.result, args.data, args.output, args.test, args.strategy)
    except DecentralMLError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps({"output": str(args.output), **metrics}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
