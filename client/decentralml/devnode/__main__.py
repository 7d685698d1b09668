"""``python -m decentralml.devnode``: the dev node without the rest of the CLI."""

from decentralml.devnode.cli import main

if __name__ == "__main__":
    main()
