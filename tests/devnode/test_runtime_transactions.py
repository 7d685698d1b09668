"""Transaction validity: signature schemes, signed payload, eras, nonces, fees and runtime APIs."""

from __future__ import annotations

import pytest
from eth_keys.datatypes import PrivateKey
from substrateinterface import Keypair, KeypairType

from decentralml.devnode.runtime import InvalidTransaction, Runtime, RuntimeApiError
from decentralml.devnode.runtime import validity as v
from decentralml.devnode.runtime.extrinsic import Era
from decentralml.devnode.runtime.testkit import Chain, EventDecoder, Signer
from decentralml.primitives.hashing import blake2_256
from decentralml.primitives.scale import Reader, compact, u32
from decentralml.primitives.signatures import ECDSA, ED25519

UNIT = 10**12
BASE_FEE = 125_000_000
BYTE_FEE = 1_000_000
TRANSFER_KEEP_ALIVE_WEIGHT = 120_000_000
TRANSFER_ALLOW_DEATH_WEIGHT = 150_000_000


def sr(uri: str) -> Signer:
    kp = Keypair.create_from_uri(uri)
    return Signer(kp.public_key, kp.sign)


def ed(seed: int) -> Signer:
    kp = Keypair.create_from_seed(bytes([seed]) * 32, crypto_type=KeypairType.ED25519)
    return Signer(kp.public_key, kp.sign, ED25519)


def ecdsa(seed: int) -> Signer:
    key = PrivateKey(bytes([seed]) * 32)
    account = blake2_256(key.public_key.to_compressed_bytes())
    return Signer(account, lambda payload: key.sign_msg_hash(blake2_256(payload)).to_bytes(), ECDSA)


ALICE, BOB = sr("//Alice"), sr("//Bob")


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime()


@pytest.fixture(scope="module")
def decoder(runtime: Runtime) -> EventDecoder:
    return EventDecoder(runtime)


@pytest.fixture
def chain(runtime: Runtime) -> Chain:
    return Chain(runtime)


def names(decoder: EventDecoder, chain: Chain, index: int) -> list[str]:
    return [e.name for e in decoder.decode(chain.last.events) if e.extrinsic_idx == index]  # type: ignore[union-attr]


def refused(chain: Chain, xt: bytes, **kw: object) -> InvalidTransaction:
    with pytest.raises(InvalidTransaction) as info:
        chain.validate(xt, **kw)
    return info.value


@pytest.mark.parametrize("make", [lambda: sr("//Charlie"), lambda: ed(7), lambda: ecdsa(9)], ids=["sr25519", "ed25519", "ecdsa"])
def test_each_signature_scheme_signs_a_transfer(chain: Chain, decoder: EventDecoder, make) -> None:
    signer = make()
    b = chain.builder
    chain.produce([b.sign(ALICE, b.transfer(signer.account, 10 * UNIT), 0)])
    xt = b.sign(signer, b.transfer(BOB.account, UNIT, keep_alive=True), 0)
    assert chain.validate(xt).sender == signer.account
    chain.produce([xt])
    assert chain.last.rejected == []
    assert names(decoder, chain, 1)[-1] == "System.ExtrinsicSuccess"
    assert chain.nonce(signer.account) == 1


def test_tampered_signature_is_a_bad_signature(chain: Chain) -> None:
    xt = bytearray(chain.builder.sign(ALICE, chain.builder.transfer(BOB.account, UNIT), 0))
    xt[40] ^= 1  # inside the signature
    err = refused(chain, bytes(xt))
    assert (err.code, err.message, err.data) == (1010, "Invalid Transaction", v.BAD_PROOF)


@pytest.mark.parametrize(
    "override", [{"genesis_hash": b"\x01" * 32}, {"spec_version": 99}, {"tx_version": 2}], ids=["genesis", "spec", "tx"]
)
def test_wrong_genesis_or_versions_show_as_bad_signature(chain: Chain, override: dict) -> None:
    xt = chain.builder.sign(ALICE, chain.builder.transfer(BOB.account, UNIT), 0, **override)
    assert refused(chain, xt).data == v.BAD_PROOF


def test_mortal_era_born_at_the_best_block_is_valid_then_expires(chain: Chain) -> None:
    for _ in range(3):
        chain.produce()
    era = Era.mortal(4, chain.number)
    assert era.birth(chain.number + 1) == chain.number
    xt = chain.builder.sign(ALICE, chain.builder.transfer(BOB.account, UNIT), 0, era=era, era_hash=chain.head_hash)
    valid = chain.validate(xt)
    assert valid.longevity == era.death(chain.number + 1) - (chain.number + 1)
    for _ in range(4):
        chain.produce()
    assert refused(chain, xt).data == v.BAD_PROOF  # its birth block is no longer the signed one


def test_era_born_in_the_future_is_an_ancient_birth_block(chain: Chain) -> None:
    chain.produce()
    era = Era.mortal(64, chain.number + 1)  # birth = the block being built: no hash yet
    xt = chain.builder.sign(ALICE, chain.builder.transfer(BOB.account, UNIT), 0, era=era, era_hash=b"\x00" * 32)
    assert refused(chain, xt).data == v.ANCIENT_BIRTH_BLOCK


def test_parent_hash_defaults_to_the_block_the_runtime_built(runtime: Runtime, chain: Chain) -> None:
    chain.produce()
    era = Era.mortal(8, chain.number)
    xt = chain.builder.sign(ALICE, chain.builder.transfer(BOB.account, UNIT), 0, era=era, era_hash=chain.head_hash)
    assert runtime.validate_transaction(chain.state, xt).nonce == 0


def test_nonces_stale_future_and_pool_tags(chain: Chain) -> None:
    b = chain.builder
    chain.produce([b.sign(ALICE, b.transfer(BOB.account, UNIT), 0)])
    stale = b.sign(ALICE, b.transfer(BOB.account, UNIT), 0)
    assert refused(chain, stale).data == v.STALE
    future = b.sign(ALICE, b.transfer(BOB.account, UNIT), 3)
    valid = chain.validate(future)
    assert valid.provides == (ALICE.account + u32(3),)
    assert valid.requires == (ALICE.account + u32(2),)
    assert refused(chain, future, allow_future=False).data == v.FUTURE
    chain.produce([future])
    assert [e.data for _, e in chain.last.rejected] == [v.FUTURE]
    ready = chain.validate(b.sign(ALICE, b.transfer(BOB.account, UNIT), 1))
    assert ready.requires == () and ready.provides == (ALICE.account + u32(1),)


def test_unfunded_and_poor_senders_cannot_pay(chain: Chain) -> None:
    b = chain.builder
    nobody = sr("//Nobody")
    assert refused(chain, b.sign(nobody, b.transfer(BOB.account, 1), 0)).data == v.PAYMENT
    poor = sr("//Poor")
    chain.produce([b.sign(ALICE, b.transfer(poor.account, 1_000_100_000), 0)])  # ED + a little
    assert refused(chain, b.sign(poor, b.remark(b"hi"), 0)).data == v.PAYMENT


def test_fee_formula_events_issuance_and_payment_apis(runtime: Runtime, chain: Chain, decoder: EventDecoder) -> None:
    b = chain.builder
    tip = 5_000
    xt = b.sign(ALICE, b.transfer(BOB.account, 3 * UNIT, keep_alive=True), 0, tip=tip)
    fee = BASE_FEE + BYTE_FEE * len(xt) + TRANSFER_KEEP_ALIVE_WEIGHT
    info = runtime.state_call(chain.state, "TransactionPaymentApi_query_info", xt + u32(len(xt)))
    r = Reader(info)
    assert (r.compact(), r.compact(), r.u8(), r.u128()) == (TRANSFER_KEEP_ALIVE_WEIGHT, 0, 0, fee)
    details = Reader(runtime.state_call(chain.state, "TransactionPaymentApi_query_fee_details", xt + u32(len(xt))))
    assert details.u8() == 1
    assert (details.u128(), details.u128(), details.u128(), details.u128()) == (
        BASE_FEE, BYTE_FEE * len(xt), TRANSFER_KEEP_ALIVE_WEIGHT, tip,
    )  # fmt: skip
    call_info = Reader(runtime.state_call(chain.state, "TransactionPaymentCallApi_query_call_info", b.transfer(BOB.account, 1, keep_alive=True) + u32(len(xt))))
    assert (call_info.compact(), call_info.compact(), call_info.u8(), call_info.u128()) == (TRANSFER_KEEP_ALIVE_WEIGHT, 0, 0, fee)
    issuance_key = bytes.fromhex("c2261276cc9d1f8598ea4b6a74b15c2f57c875e4cff74148e4628f264b974c80")
    before_issuance = int.from_bytes(chain.state.get(issuance_key) or b"", "little")
    before = chain.free(ALICE.account)
    chain.produce([xt])
    assert chain.free(ALICE.account) == before - 3 * UNIT - fee - tip
    assert int.from_bytes(chain.state.get(issuance_key) or b"", "little") == before_issuance - fee - tip
    events = [e for e in decoder.decode(chain.last.events) if e.extrinsic_idx == 1]
    assert [e.name for e in events] == [
        "Balances.Withdraw", "Balances.Transfer", "Balances.BurnedDebt",
        "TransactionPayment.TransactionFeePaid", "System.ExtrinsicSuccess",
    ]  # fmt: skip
    assert events[3].attributes["actual_fee"] == fee + tip and events[3].attributes["tip"] == tip
    assert events[4].attributes["dispatch_info"]["weight"]["ref_time"] == TRANSFER_KEEP_ALIVE_WEIGHT + BASE_FEE
    assert runtime.state_call(chain.state, "TransactionPaymentApi_query_length_to_fee", u32(10)) == (10 * BYTE_FEE).to_bytes(16, "little")


def test_query_info_ignores_an_all_zero_signature(runtime: Runtime, chain: Chain) -> None:
    b = chain.builder
    zero = Signer(ALICE.account, lambda _p: bytes(64))
    xt = b.sign(zero, b.transfer(BOB.account, UNIT), 0)
    r = Reader(runtime.state_call(chain.state, "TransactionPaymentApi_query_info", xt + u32(len(xt))))
    assert (r.compact(), r.compact(), r.u8(), r.u128()) == (
        TRANSFER_ALLOW_DEATH_WEIGHT, 0, 0, BASE_FEE + BYTE_FEE * len(xt) + TRANSFER_ALLOW_DEATH_WEIGHT,
    )  # fmt: skip


def test_unsigned_and_malformed_extrinsics(chain: Chain) -> None:
    b = chain.builder
    err = refused(chain, b.unsigned(b.transfer(BOB.account, 1)))
    assert (err.code, err.data) == (1011, v.NO_UNSIGNED_VALIDATOR)
    err = refused(chain, b.unsigned(b.call("Timestamp", "set", compact(1))))
    assert (err.code, err.data) == (1010, v.MANDATORY_VALIDATION)
    for junk in (b"", b"\x00", b"\x08\x84\x00", compact(3) + b"\x99\x01\x02", b.unsigned(b"\x05\x63")):
        assert refused(chain, junk).code == 1002
    oversized_question = b.call("DecentralMLModule", "create_task", b"\x00" + compact(1025) + b"q" * 1025)
    assert refused(chain, b.sign(ALICE, oversized_question, 0)).code == 1002


def test_root_only_calls_fail_with_bad_origin_and_unimplemented_ones_are_refused(chain: Chain, decoder: EventDecoder) -> None:
    b = chain.builder
    heap_pages = b.call("System", "set_heap_pages", (8).to_bytes(8, "little"))
    chain.produce([b.sign(BOB, heap_pages, 0)])
    failed = decoder.decode(chain.last.events)[-1]  # type: ignore[union-attr]
    assert failed.name == "System.ExtrinsicFailed" and failed.attributes["dispatch_error"] == "BadOrigin"
    assert failed.attributes["dispatch_info"]["class"] == "Operational"
    assert refused(chain, b.sign(ALICE, b.sudo(heap_pages), 0)).data == v.CALL
    assert refused(chain, b.sign(BOB, heap_pages + b"\x00", 1)).code == 1002  # trailing byte


def test_metadata_version_and_nonce_apis(runtime: Runtime, chain: Chain) -> None:
    assert runtime.metadata_v14[:5] == b"meta\x0e" and runtime.metadata_v15[:5] == b"meta\x0f"
    assert runtime.state_call(chain.state, "Metadata_metadata_versions", b"") == compact(2) + u32(14) + u32(15)
    assert runtime.state_call(chain.state, "Metadata_metadata", b"") == compact(len(runtime.metadata_v14)) + runtime.metadata_v14
    assert runtime.state_call(chain.state, "Metadata_metadata_at_version", u32(15)) == b"\x01" + compact(len(runtime.metadata_v15)) + runtime.metadata_v15
    assert runtime.state_call(chain.state, "Metadata_metadata_at_version", u32(16)) == b"\x00"
    version = Reader(runtime.state_call(chain.state, "Core_version", b""))
    assert version.vec_u8() == b"decentralml"
    assert runtime.state_call(chain.state, "AccountNonceApi_account_nonce", ALICE.account) == u32(0)
    with pytest.raises(RuntimeApiError, match="not found"):
        runtime.state_call(chain.state, "Nope_nothing", b"")
    with pytest.raises(RuntimeApiError, match="Bad input"):
        runtime.state_call(chain.state, "AccountNonceApi_account_nonce", b"\x01")
    assert runtime.state_call(chain.state, "SessionKeys_generate_session_keys", b"\x00\x00") == b"\x00\x00"
    assert runtime.state_call(chain.state, "SessionKeys_decode_session_keys", b"\x00") == b"\x01\x00"
    assert runtime.state_call(chain.state, "GenesisBuilder_preset_names", b"") == b"\x04" + compact(11) + b"development"
    assert runtime.properties() == {"ss58Format": 42, "tokenDecimals": 12, "tokenSymbol": "UNIT"}
    assert runtime.runtime_version()["specVersion"] == 100


def test_tagged_transaction_queue_api_encodes_validity(runtime: Runtime, chain: Chain) -> None:
    b = chain.builder
    good = b.sign(ALICE, b.transfer(BOB.account, 1), 0)
    out = runtime.state_call(chain.state, "TaggedTransactionQueue_validate_transaction", b"\x02" + good + chain.head_hash)
    assert out[0] == 0
    bad = b.sign(ALICE, b.transfer(BOB.account, 1), 0, spec_version=1)
    out = runtime.state_call(chain.state, "TaggedTransactionQueue_validate_transaction", b"\x02" + bad + chain.head_hash)
    assert out == b"\x01\x00\x04"  # Err(Invalid(BadProof))


def test_block_header_hash_and_timestamp(runtime: Runtime, chain: Chain) -> None:
    first = chain.produce(timestamp_ms=1_000_000)
    assert first.hash == blake2_256(first.header)
    assert first.header[:32] == chain.genesis_hash
    second = chain.produce(timestamp_ms=1_000_001)  # closer than MinimumPeriod: moved forward
    assert second.timestamp_ms == 1_000_000 + 3_000
    call = runtime.index.call_index("Timestamp", "set") + compact(1_003_000)
    assert second.extrinsics[0] == compact(1 + len(call)) + b"\x05" + call  # bare, format v5, as a node builds it


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_arbitrary_bytes_never_escape_as_other_errors(runtime: Runtime, data: st.DataObject) -> None:
    chain = Chain(runtime)
    b = chain.builder
    good = b.sign(ALICE, b.transfer(BOB.account, UNIT), 0)
    mode = data.draw(st.sampled_from(["random", "flip", "truncate", "extend"]))
    if mode == "random":
        xt = data.draw(st.binary(max_size=300))
    elif mode == "flip":
        i = data.draw(st.integers(0, len(good) - 1))
        xt = good[:i] + bytes([good[i] ^ data.draw(st.integers(1, 255))]) + good[i + 1 :]
    elif mode == "truncate":
        xt = good[: data.draw(st.integers(0, len(good) - 1))]
    else:
        xt = good + data.draw(st.binary(min_size=1, max_size=20))
    try:
        chain.validate(xt)
    except InvalidTransaction as exc:
        assert exc.code in (1002, 1010, 1011)
    result = chain.produce([xt])
    assert result.extrinsics[1:] in ([], [xt])
    for method in ("TransactionPaymentApi_query_info", "TransactionPaymentApi_query_fee_details", "TaggedTransactionQueue_validate_transaction"):
        try:
            runtime.state_call(chain.state, method, xt)
        except RuntimeApiError:
            pass


def test_block_length_limits(chain: Chain) -> None:
    b = chain.builder
    too_big = b.sign(ALICE, b.remark(b"\x00" * 3_932_160), 0)
    assert refused(chain, too_big).data == v.EXHAUSTS_RESOURCES
    first = b.sign(ALICE, b.remark(b"\x01" * 2_000_000), 0)
    second = b.sign(ALICE, b.remark(b"\x02" * 2_000_000), 1)
    chain.validate(first)
    result = chain.produce([first, second])
    assert result.extrinsics[1:] == [first]
    assert [e.data for _, e in result.rejected] == [v.EXHAUSTS_RESOURCES]


def test_signer_address_that_does_not_resolve(chain: Chain) -> None:
    good = chain.builder.sign(ALICE, chain.builder.transfer(BOB.account, 1), 0)
    body = good[2:]  # strip the 2-byte compact length of this size
    assert body[:2] == b"\x84\x00"
    by_index = b"\x84\x01" + body[2 + 32 :]  # MultiAddress::Index(()) instead of Id(account)
    xt = compact(len(by_index)) + by_index
    err = refused(chain, xt)
    assert (err.code, err.data) == (1011, v.CANNOT_LOOKUP)


def test_a_runtime_bug_in_one_extrinsic_does_not_spoil_the_block(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from decentralml.devnode.runtime import calls

    chain = Chain(runtime)
    b = chain.builder
    original = calls.dispatch

    def exploding(ctx, codec, origin, call):  # type: ignore[no-untyped-def]
        if call.pallet == "System":
            raise ZeroDivisionError("bug")
        return original(ctx, codec, origin, call)

    monkeypatch.setattr("decentralml.devnode.runtime.executive.dispatch", exploding)
    bad = b.sign(ALICE, b.remark(b"x"), 0)
    good = b.sign(BOB, b.transfer(ALICE.account, UNIT), 0)
    result = chain.produce([bad, good])
    assert result.extrinsics[1:] == [good]
    assert [(e.code, "ZeroDivisionError" in (e.data or "")) for _, e in result.rejected] == [(1002, True)]
    assert chain.nonce(ALICE.account) == 0 and chain.nonce(BOB.account) == 1
