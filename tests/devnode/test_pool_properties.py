"""Property: whatever order nonces arrive in, the pool includes every transaction once, in nonce order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from decentralml.devnode.node import DevNode
from tests.devnode.fake_runtime import FakeRuntime, make_xt

arrivals = st.lists(st.tuples(st.integers(1, 3), st.integers(0, 5)), min_size=1, max_size=25, unique=True)


@settings(max_examples=60, deadline=None)
@given(arrivals)
def test_any_arrival_order_is_sealed_in_nonce_order(order):
    node = DevNode(FakeRuntime())
    node.start()
    for sender, nonce in order:
        node.submit(make_xt(sender, nonce, bytes([nonce])))
    sealed: list[tuple[int, int]] = []
    while (entry := node.pool.pop_ready()) is not None:
        built = node._build([entry])
        assert built.rejected == []
        body = entry.xt[1:]
        sealed.append((body[0], int.from_bytes(body[1:5], "little")))
    submitted = set(order)
    # exactly the gap-free prefix of each sender's nonces is sealed, each once, in order
    for sender in {s for s, _ in order}:
        nonces = [n for s, n in sealed if s == sender]
        expected = 0
        while (sender, expected) in submitted:
            expected += 1
        assert nonces == list(range(expected))
    waiting = {(e.xt[1], int.from_bytes(e.xt[2:6], "little")) for e in node.pool.future.values()}
    assert waiting == submitted - set(sealed)
