"""Shared primitives: the bottom layer every other part of the package builds on.

* :mod:`.hashing`: Substrate's hashers (blake2, twox) and FRAME storage-key prefixes;
* :mod:`.signatures`: ``MultiSignature`` verification (sr25519, ed25519, ecdsa) as sp-runtime does it;
* :mod:`.ss58`: SS58 addresses to and from 32-byte public keys;
* :mod:`.packing`: the deterministic pack of a directory (a reproducible tar stream);
* :mod:`.digests`: SHA-256 of a file or of a directory's pack, as ``(digest, size)``;
* :mod:`.inline_result`: the JSON body of a submission's ``inline_result`` and the metrics it carries.

The dev node, the chain client, storage and lineage all use these; nothing here
imports any other part of :mod:`decentralml` except :mod:`decentralml.errors`.
"""
