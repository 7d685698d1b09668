"""The ``decentralml`` command: Typer apps, one module per command group."""
