"""``python -m decentralml``: the ``decentralml`` command (:func:`decentralml.cli.app.main`)."""

from decentralml.cli.app import main

main()
