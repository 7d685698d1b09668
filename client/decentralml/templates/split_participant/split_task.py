"""Entry point of the split-learning contributor bundle (run through ./start_task.sh)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    from decentralml.errors import DecentralMLError
    from decentralml.fl.split.runner import load_config, run_contribution

    parser = argparse.ArgumentParser(description="Train the split network on your private CSV and write the result.")
    parser.add_argument("--data", type=Path, default=os.environ.get("DECENTRALML_DATA") or None)
    parser.add_argument("--base-model", type=Path,
                        default=os.environ.get("DECENTRALML_BASE_MODEL") or HERE / "base_model.safetensors")
    parser.add_argument("--output", type=Path, default=os.environ.get("DECENTRALML_OUTPUT_DIR") or Path.cwd() / "result")
    args = parser.parse_args(argv)
    if args.data is None:
        print("error: give your private CSV with --data FILE (or DECENTRALML_DATA).", file=sys.stderr)
        return 2
    if not args.base_model.is_file():
        print(f"error: no starting checkpoint at {args.base_model}; pass --base-model PATH.", file=sys.stderr)
        return 2
    try:
        metrics = run_contribution(load_config(HERE), args.base_model, args.data, args.output)
    except DecentralMLError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps({"output": str(args.output), **metrics}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
