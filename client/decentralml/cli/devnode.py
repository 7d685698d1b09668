"""``decentralml devnode``: the local development chain (:mod:`decentralml.devnode`).

The only module of the CLI that imports the dev node; the layer contract in
``pyproject.toml`` allows exactly this import.
"""

from __future__ import annotations

import typer

from decentralml.devnode.cli import app as devnode_app


def register(app: typer.Typer) -> None:
    """Register the ``devnode`` command group on the root app."""
    app.add_typer(devnode_app, name="devnode")
