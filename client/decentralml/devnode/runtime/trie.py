"""Substrate's base-16 Patricia-Merkle trie root (sp-trie ``LayoutV0``/``LayoutV1``).

Node encoding follows sp-trie's node codec: a header carrying the node kind
and the partial key's nibble count, the partial key, a 16-bit child bitmap
for branches, the value (inline as ``Vec<u8>``, or under ``LayoutV1`` the
blake2-256 hash of any value of 33 bytes or more), then each child as a
``Vec<u8>`` holding the child's encoding if shorter than 32 bytes, else its
hash. The root is the blake2-256 of the root node's encoding.

Two entry points: :func:`trie_root` builds from sorted items in one pass;
:class:`Trie` is a persistent (immutable, structurally shared) trie whose
``update`` returns a new trie, so a block's root costs only the changed paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from decentralml.primitives.hashing import blake2_256
from decentralml.primitives.scale import compact

EMPTY_ROOT = blake2_256(b"\x00")
_VALUE_HASH_THRESHOLD = 33
_NIBBLE = "0123456789abcdef"


def _header(prefix: int, mask_bits: int, size: int) -> bytes:
    max_value = 255 >> mask_bits
    if size < max_value:
        return bytes((prefix | size,))
    out = bytearray((prefix | max_value,))
    rem = size - max_value
    while rem >= 255:
        out.append(255)
        rem -= 255
    out.append(rem)
    return bytes(out)


def _partial(nibbles: str) -> bytes:
    if len(nibbles) & 1:
        return bytes.fromhex("0" + nibbles)  # odd: the first nibble alone in the low half
    return bytes.fromhex(nibbles)


def _encode_leaf(nibbles: str, value: bytes, v1: bool) -> bytes:
    if v1 and len(value) >= _VALUE_HASH_THRESHOLD:
        return _header(0x20, 3, len(nibbles)) + _partial(nibbles) + blake2_256(value)
    return _header(0x40, 2, len(nibbles)) + _partial(nibbles) + compact(len(value)) + value


def _child_ref(encoded: bytes) -> bytes:
    if len(encoded) >= 32:
        return b"\x80" + blake2_256(encoded)  # compact(32) ‖ hash
    return compact(len(encoded)) + encoded


def _encode_branch(nibbles: str, value: bytes | None, child_refs: list[bytes | None], v1: bool) -> bytes:
    """A branch node from its partial key, optional value and its 16 children's references (or None)."""
    if value is None:
        head = _header(0x80, 2, len(nibbles))
        value_part = b""
    elif v1 and len(value) >= _VALUE_HASH_THRESHOLD:
        head = _header(0x10, 4, len(nibbles))
        value_part = blake2_256(value)
    else:
        head = _header(0xC0, 2, len(nibbles))
        value_part = compact(len(value)) + value
    bitmap = 0
    refs = []
    for i, ref in enumerate(child_refs):
        if ref is not None:
            bitmap |= 1 << i
            refs.append(ref)
    return head + _partial(nibbles) + bitmap.to_bytes(2, "little") + value_part + b"".join(refs)


def _build(items: list[tuple[str, bytes]], lo: int, hi: int, depth: int, v1: bool) -> bytes:
    """Encode the node for items[lo:hi], whose keys share their first ``depth`` nibbles."""
    first_key = items[lo][0]
    if hi - lo == 1:
        return _encode_leaf(first_key[depth:], items[lo][1], v1)
    last_key = items[hi - 1][0]
    end = depth
    limit = min(len(first_key), len(last_key))
    while end < limit and first_key[end] == last_key[end]:
        end += 1
    value = None
    start = lo
    if len(first_key) == end:
        value = items[lo][1]
        start = lo + 1
    children: list[bytes | None] = [None] * 16
    i = start
    while i < hi:
        nib = items[i][0][end]
        j = i + 1
        while j < hi and items[j][0][end] == nib:
            j += 1
        children[int(nib, 16)] = _build(items, i, j, end + 1, v1)
        i = j
    return _encode_branch(first_key[depth:end], value, [None if c is None else _child_ref(c) for c in children], v1)


def trie_root(items: Iterable[tuple[bytes, bytes]], state_version: int = 1) -> bytes:
    """Root of the trie holding ``items`` (key, value) pairs; keys need not be sorted."""
    pairs = sorted((k.hex(), v) for k, v in items)
    if not pairs:
        return EMPTY_ROOT
    return blake2_256(_build(pairs, 0, len(pairs), 0, state_version == 1))


def closest_descendant_merkle_value(
    items: Iterable[tuple[bytes, bytes]], prefix: bytes, state_version: int = 1
) -> bytes | None:
    """The Merkle value of the trie node closest to ``prefix`` among those whose key starts with it.

    As the JSON-RPC spec's ``closestDescendantMerkleValue`` storage query defines it:
    the node's encoding if shorter than 32 bytes, else its blake2-256 (always the hash
    for the root). ``None`` when no key starts with ``prefix``. Cost: one pass over ``items``.
    """
    pairs = sorted((k.hex(), v) for k, v in items)
    wanted = prefix.hex()
    lo = next((i for i, (k, _) in enumerate(pairs) if k.startswith(wanted)), None)
    if lo is None:
        return None
    hi = lo
    while hi < len(pairs) and pairs[hi][0].startswith(wanted):
        hi += 1
    shared = pairs[lo][0]
    last = pairs[hi - 1][0]
    end = 0
    while end < min(len(shared), len(last)) and shared[end] == last[end]:
        end += 1
    shared = shared[:end]
    # The parent branch sits where the subtree's key parts from its nearest neighbours.
    parent = -1
    for neighbour in (pairs[lo - 1][0] if lo > 0 else None, pairs[hi][0] if hi < len(pairs) else None):
        if neighbour is not None:
            parent = max(parent, _common(shared, neighbour))
    encoded = _build(pairs, lo, hi, parent + 1, state_version == 1)
    if parent < 0 or len(encoded) >= 32:
        return blake2_256(encoded)
    return encoded


def read_proof(items: Iterable[tuple[bytes, bytes]], keys: Iterable[bytes], state_version: int = 1) -> list[bytes]:
    """The storage proof of ``keys`` (present or absent) in the trie of ``items``, as sp-trie records it.

    Every node a lookup reads from the database: the root and each node on the path
    whose encoding is 32 bytes or more (shorter ones are inlined in their parent),
    plus, under ``LayoutV1``, each value of 33 bytes or more (stored apart, by hash).
    Sorted by bytes, as ``StorageProof`` (a BTreeSet) yields them.
    """
    v1 = state_version == 1
    trie = Trie.from_items(items, state_version)
    nodes: set[bytes] = set()
    for key in keys:
        node = trie._root
        rest = key.hex()
        is_root = True
        while node is not None:
            encoded = node.encode(v1)
            if is_root or len(encoded) >= 32:
                nodes.add(encoded)
            is_root = False
            if not rest.startswith(node.partial):
                break
            rest = rest[len(node.partial) :]
            if not rest:
                if node.value is not None and v1 and len(node.value) >= _VALUE_HASH_THRESHOLD:
                    nodes.add(node.value)
                break
            if node.children is None:
                break
            node = node.children[int(rest[0], 16)]
            rest = rest[1:]
    return sorted(nodes)


def ordered_trie_root(values: list[bytes], state_version: int = 1) -> bytes:
    """Root of the trie mapping ``compact(i)`` to ``values[i]`` (extrinsics root)."""
    return trie_root(((compact(i), v) for i, v in enumerate(values)), state_version)


class _Node:
    """An immutable trie node: partial key, optional value, 16 optional children."""

    __slots__ = ("partial", "value", "children", "_enc", "_ref")

    def __init__(self, partial: str, value: bytes | None, children: tuple[_Node | None, ...] | None) -> None:
        self.partial = partial
        self.value = value
        self.children = children  # None for a leaf
        self._enc: bytes | None = None
        self._ref: bytes | None = None

    def encode(self, v1: bool) -> bytes:
        enc = self._enc
        if enc is None:
            if self.children is None:
                assert self.value is not None
                enc = _encode_leaf(self.partial, self.value, v1)
            else:
                enc = self._encode_branch(v1)
            self._enc = enc
        return enc

    def ref(self, v1: bool) -> bytes:
        """How a parent branch refers to this node (inline encoding or hash), cached."""
        ref = self._ref
        if ref is None:
            ref = self._ref = _child_ref(self.encode(v1))
        return ref

    def _encode_branch(self, v1: bool) -> bytes:
        children = self.children
        assert children is not None
        refs = [None if child is None else (child._ref if child._ref is not None else child.ref(v1)) for child in children]
        return _encode_branch(self.partial, self.value, refs, v1)


_NO_CHILDREN: tuple[_Node | None, ...] = (None,) * 16


def _common(a: str, b: str) -> int:
    """Length of the common prefix (binary search over slice comparisons)."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n - 1  # a[:lo] == b[:lo] and a[:hi + 1] != b[:hi + 1]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _insert(node: _Node | None, key: str, value: bytes) -> _Node:
    if node is None:
        return _Node(key, value, None)
    p = node.partial
    c = _common(p, key)
    if c == len(p):
        if c == len(key):
            return _Node(p, value, node.children)
        rest = key[c:]
        idx = int(rest[0], 16)
        children = list(node.children or _NO_CHILDREN)
        children[idx] = _insert(children[idx], rest[1:], value)
        return _Node(p, node.value, tuple(children))
    # split: new branch at the common prefix
    children_l: list[_Node | None] = [None] * 16
    old = _Node(p[c + 1 :], node.value, node.children)
    children_l[int(p[c], 16)] = old
    if c == len(key):
        return _Node(key, value, tuple(children_l))
    children_l[int(key[c], 16)] = _Node(key[c + 1 :], value, None)
    return _Node(p[:c], None, tuple(children_l))


def _collapse(partial: str, value: bytes | None, children: list[_Node | None]) -> _Node | None:
    present = [i for i, ch in enumerate(children) if ch is not None]
    if not present:
        return None if value is None else _Node(partial, value, None)
    if value is None and len(present) == 1:
        i = present[0]
        child = children[i]
        assert child is not None
        return _Node(partial + _NIBBLE[i] + child.partial, child.value, child.children)
    return _Node(partial, value, tuple(children))


def _delete(node: _Node | None, key: str) -> _Node | None:
    if node is None:
        return None
    p = node.partial
    if not key.startswith(p):
        return node
    if len(key) == len(p):
        if node.value is None:
            return node
        if node.children is None:
            return None
        return _collapse(p, None, list(node.children))
    if node.children is None:
        return node
    idx = int(key[len(p)], 16)
    child = node.children[idx]
    if child is None:
        return node
    new_child = _delete(child, key[len(p) + 1 :])
    if new_child is child:
        return node
    children = list(node.children)
    children[idx] = new_child
    return _collapse(p, node.value, children)


class Trie:
    """A persistent trie: ``update`` returns a new trie sharing unchanged nodes."""

    __slots__ = ("_root", "state_version")

    def __init__(self, state_version: int = 1, _root: _Node | None = None) -> None:
        self._root = _root
        self.state_version = state_version

    @classmethod
    def from_items(cls, items: Iterable[tuple[bytes, bytes]], state_version: int = 1) -> Trie:
        root: _Node | None = None
        for k, v in items:
            root = _insert(root, k.hex(), v)
        return cls(state_version, root)

    def update(self, changes: Mapping[bytes, bytes | None]) -> Trie:
        root = self._root
        for k, v in changes.items():
            root = _delete(root, k.hex()) if v is None else _insert(root, k.hex(), v)
        return Trie(self.state_version, root)

    def root(self) -> bytes:
        if self._root is None:
            return EMPTY_ROOT
        return blake2_256(self._root.encode(self.state_version == 1))
