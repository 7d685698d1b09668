"""Split learning in PyTorch: initiator/participants and round-robin split learning.

* :mod:`.model`: a network cut at a configurable layer into client and server halves;
* :mod:`.step`: one training step with activations forwarded and gradients passed back by hand;
* :mod:`.train`: loops, evaluation and the unsplit baseline;
* :mod:`.weights`: safetensors checkpoints (halves and optimiser state, never pickle);
* :mod:`.aggregate`: sample-weighted averaging (pure NumPy);
* :mod:`.protocols`: initiator/participants and round-robin steps;
* :mod:`.data`: breast-cancer / digits shards as private CSVs;
* :mod:`.runner`: what the bundle in ``assets/split_learning`` runs.

The protocols through the chain and storage are use cases:
:mod:`decentralml.usecases.split_learning`.

PyTorch is imported lazily, inside the functions that need it.
"""
