"""Lineage records: canonical form, signatures, and tampering detection."""

from __future__ import annotations

import json

import numpy as np
import pytest
from substrateinterface import Keypair, KeypairType

from decentralml.chain.signer import keypair_from_suri
from decentralml.cli.lineage import lineage_rows, report_to_dict  # noqa: E402
from decentralml.config import CryptoType
from decentralml.errors import IntegrityError, UsageError
from decentralml.lineage import (
    LineageRecord,
    SignedLineage,
    canonical_json,
    decode_inline_result,
    encode_inline_result,
    record_digest,
    sha256_arrays,
    sha256_bytes,
    sign_record,
    signer_of,
    verify,
    verify_result_lineage,
)
from decentralml.primitives.digests import file_digest  # noqa: E402

OUTPUT = b"server half weights"


def _record(keypair: Keypair, output: bytes = OUTPUT, **overrides) -> LineageRecord:
    signer, scheme = signer_of(keypair)
    fields = dict(
        task_id=3,
        submission_id=7,
        step="split-participant",
        framework="torch 2",
        input_hash=sha256_bytes(b"private csv"),
        params_hash=sha256_bytes(b"{}"),
        code_hash=sha256_bytes(b"bundle"),
        output_hash=sha256_bytes(output),
        started_at_ms=1_700_000_000_000,
        finished_at_ms=1_700_000_001_000,
        signer=signer,
        scheme=scheme,
    )
    fields.update(overrides)
    return LineageRecord(**fields)


@pytest.fixture(params=["sr25519", "ed25519", "ecdsa"])
def keypair(request) -> Keypair:
    if request.param == "sr25519":
        return Keypair.create_from_uri("//Bob")
    if request.param == "ecdsa":
        return keypair_from_suri("//Bob", CryptoType.ECDSA)
    return Keypair.create_from_seed("0x" + "11" * 32, crypto_type=KeypairType.ED25519)


def test_ethereum_style_ecdsa_keys_cannot_sign_lineage():
    ethereum = Keypair.create_from_private_key("0x" + "11" * 32, crypto_type=KeypairType.ECDSA)
    with pytest.raises(UsageError, match="Substrate ecdsa"):
        signer_of(ethereum)


def test_canonical_json_is_deterministic_and_refuses_floats():
    assert canonical_json({"b": 1, "a": ["é", 2]}) == '{"a":["é",2],"b":1}'.encode()
    with pytest.raises(UsageError, match="refuses floats"):
        canonical_json({"a": 0.5})


def test_round_trip_and_digest_stable(keypair):
    signed = sign_record(_record(keypair), keypair)
    again = SignedLineage.from_json(signed.to_json())
    assert again == signed
    assert again.digest == record_digest(signed.record)
    assert len(signed.digest) == 32


def test_verify_passes_for_untouched_record_and_artifact(keypair, tmp_path):
    signed = sign_record(_record(keypair), keypair)
    artifact = tmp_path / "out.bin"
    artifact.write_bytes(OUTPUT)
    report = verify(signed.to_json(), output=artifact, onchain_digest=signed.digest, expected_signer=keypair.public_key)
    assert [c.name for c in report.checks] == ["signature", "on-chain digest", "signer is worker", "output artifact"]


def test_tampered_record_detected(keypair):
    signed = sign_record(_record(keypair), keypair)
    doc = json.loads(signed.to_json())
    doc["record"]["output_hash"] = sha256_bytes(b"something else")
    with pytest.raises(IntegrityError, match="signature does not match"):
        verify(json.dumps(doc).encode())


def test_record_resigned_by_another_key_is_not_the_workers(keypair):
    other = Keypair.create_from_uri("//Charlie")
    forged = sign_record(_record(other), other)
    with pytest.raises(IntegrityError, match="not by the submission's worker"):
        verify(forged, expected_signer=keypair.public_key)


def test_tampered_artifact_detected(keypair, tmp_path):
    signed = sign_record(_record(keypair), keypair)
    artifact = tmp_path / "out.bin"
    artifact.write_bytes(OUTPUT + b"!")
    with pytest.raises(IntegrityError, match="tampered"):
        verify(signed, output=artifact)
    with pytest.raises(IntegrityError, match="tampered"):
        verify(signed, output=OUTPUT[:-1])


def test_onchain_digest_mismatch_detected(keypair):
    signed = sign_record(_record(keypair), keypair)
    other = sign_record(_record(keypair, output=b"x"), keypair)
    with pytest.raises(IntegrityError, match="on-chain lineage_digest"):
        verify(signed, onchain_digest=other.digest)


def test_signature_for_other_record_rejected(keypair):
    signed = sign_record(_record(keypair), keypair)
    swapped = SignedLineage(record=_record(keypair, submission_id=8), signature=signed.signature)
    with pytest.raises(IntegrityError, match="signature does not match the record"):
        verify(swapped)


def test_malformed_documents_are_integrity_errors(keypair):
    signed = sign_record(_record(keypair), keypair)
    doc = json.loads(signed.to_json())
    doc["record"]["extra"] = 1
    with pytest.raises(IntegrityError, match="malformed"):
        verify(json.dumps(doc))
    with pytest.raises(IntegrityError, match="not valid JSON"):
        verify(b"not json")
    doc = json.loads(signed.to_json())
    doc["record"]["input_hash"] = "zz"
    with pytest.raises(IntegrityError, match="input_hash"):
        verify(json.dumps(doc))


def test_signing_with_wrong_key_refused(keypair):
    other = Keypair.create_from_uri("//Dave")
    with pytest.raises(UsageError, match="names another signer"):
        sign_record(_record(keypair), other)


def test_inline_result_and_show_result_entry_point(keypair):
    signed = sign_record(_record(keypair), keypair)
    inline = encode_inline_result({"accuracy_bp": 9500}, signed)
    decoded, metrics = decode_inline_result(inline)
    assert decoded == signed and metrics == {"accuracy_bp": 9500}
    report = verify_result_lineage(
        inline_result=inline,
        lineage_digest=signed.digest,
        worker_public_key=keypair.public_key,
        task_id=3,
        submission_id=7,
        result_digest=bytes.fromhex(signed.record.output_hash),
    )
    names = dict(lineage_rows(report))
    assert names["lineage digest"] == signed.digest.hex()
    assert report_to_dict(report)["verified"][-1] == "output hash = result digest"
    with pytest.raises(IntegrityError, match="not submission 8"):
        verify_result_lineage(inline_result=inline, lineage_digest=signed.digest, worker_public_key=None,
                              task_id=3, submission_id=8, result_digest=None)
    with pytest.raises(IntegrityError, match="result was replaced"):
        verify_result_lineage(inline_result=inline, lineage_digest=signed.digest, worker_public_key=None,
                              task_id=3, submission_id=7, result_digest=b"\0" * 32)
    with pytest.raises(IntegrityError, match="no lineage record"):
        verify_result_lineage(inline_result=b'{"metrics":{}}', lineage_digest=signed.digest, worker_public_key=None,
                              task_id=3, submission_id=7, result_digest=None)


def test_record_validation():
    kp = Keypair.create_from_uri("//Bob")
    with pytest.raises(UsageError, match="finishes before it starts"):
        _record(kp, started_at_ms=5, finished_at_ms=4)
    with pytest.raises(UsageError, match="lowercase hex SHA-256"):
        _record(kp, code_hash="ABC")


def test_hash_helpers(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert file_digest(path) == (bytes.fromhex(sha256_bytes(b"abc")), 3)
    a = {"w": np.zeros((2, 2), dtype=np.float32)}
    b = {"w": np.zeros((4,), dtype=np.float32)}
    assert sha256_arrays(a) != sha256_arrays(b)
    assert sha256_arrays(a) == sha256_arrays({"w": np.zeros((2, 2), dtype=np.float32)})


def test_input_data_check(keypair, tmp_path):
    signed = sign_record(_record(keypair), keypair)
    assert verify(signed, input=b"private csv").checks[-1].name == "input data"
    with pytest.raises(IntegrityError, match="other data"):
        verify(signed, input=b"another csv")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(_json)
def test_canonical_json_round_trips_and_ignores_key_order(value):
    raw = canonical_json(value)
    assert canonical_json(json.loads(raw)) == raw
    if isinstance(value, dict):
        assert canonical_json(dict(reversed(list(value.items())))) == raw
