"""Trie roots: known roots, and the incremental trie agrees with the one-pass builder."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from decentralml.devnode.runtime.artifacts import storage_value
from decentralml.devnode.runtime.trie import EMPTY_ROOT, Trie, ordered_trie_root, trie_root

SPEC = Path(__file__).resolve().parents[2] / "pallet-spec"


def _b(h: str) -> bytes:
    return bytes.fromhex(h[2:])


def _items(dump: dict) -> list[tuple[bytes, bytes]]:
    """A storage dump of pallet-spec: hex values, ``:code`` named by its file in metadata/."""
    return [(_b(k), storage_value(v, lambda name: (SPEC / "metadata" / name).read_bytes())) for k, v in dump.items()]


def test_empty_root() -> None:
    assert EMPTY_ROOT.hex() == "03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314"
    assert ordered_trie_root([]) == EMPTY_ROOT and Trie().root() == EMPTY_ROOT


def test_genesis_and_block_state_roots_of_pallet_spec() -> None:
    genesis = json.loads((SPEC / "metadata" / "genesis.json").read_text())
    items = _items(genesis["storage"])
    assert trie_root(items, 1) == _b(genesis["state_root"])
    assert Trie.from_items(items, 1).root() == _b(genesis["state_root"])
    blocks = json.loads((SPEC / "vectors" / "signed_blocks.json").read_text())["blocks"]
    for block in blocks:
        assert trie_root(_items(block["state"]), 1) == _b(block["storage_root"])
        xts = [_b(x["extrinsic_hex"]) for x in block["extrinsics"]]
        assert ordered_trie_root(xts, 0) == _b(block["header"]["extrinsics_root"])


values = st.binary(min_size=0, max_size=70)


@settings(max_examples=200, deadline=None)
@given(
    before=st.dictionaries(st.binary(max_size=5), values, max_size=25),
    changes=st.dictionaries(st.binary(max_size=5), st.one_of(st.none(), values), max_size=10),
    version=st.sampled_from([0, 1]),
)
def test_incremental_trie_matches_one_pass(before: dict, changes: dict, version: int) -> None:
    after = {k: v for k, v in {**before, **changes}.items() if v is not None}
    trie = Trie.from_items(before.items(), version)
    assert trie.root() == trie_root(before.items(), version)
    assert trie.update(changes).root() == trie_root(after.items(), version)
    assert trie.root() == trie_root(before.items(), version)  # persistent: the old trie is unchanged
