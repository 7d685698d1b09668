"""DecentralML: a marketplace for machine-learning work on a Substrate chain."""

__version__ = "0.1.0"
