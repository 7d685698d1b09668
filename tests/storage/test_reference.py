"""References: enum order, validation, JSON and chain encodings (pure)."""

from __future__ import annotations

import hashlib

import pytest

from decentralml.errors import UsageError
from decentralml.storage import Reference, StorageType, parse_digest, storage_type_of_uri

DIGEST = hashlib.sha256(b"x").digest()


def test_storage_type_matches_the_chain_enum_order() -> None:
    assert [m.value for m in StorageType] == ["IPFS", "Crust", "S3", "GCP", "Azure", "Local"]
    assert [m.index for m in StorageType] == [0, 1, 2, 3, 4, 5]
    assert StorageType.from_index(5) is StorageType.LOCAL
    assert StorageType.parse("crust") is StorageType.CRUST
    assert StorageType.parse({"S3": None}) is StorageType.S3
    with pytest.raises(UsageError, match="Unknown storage type index 6"):
        StorageType.from_index(6)


def test_json_round_trip() -> None:
    ref = Reference(StorageType.S3, "s3://bucket/p/" + DIGEST.hex(), DIGEST, 1)
    assert Reference.from_json(ref.dumps()) == ref
    assert ref.to_json()["digest"] == "0x" + DIGEST.hex()


def test_chain_round_trip_loses_only_the_size() -> None:
    ref = Reference(StorageType.IPFS, "ipfs://bafkreiexample/", DIGEST, 10)
    chain = ref.to_chain()
    assert chain["uri"] == "0x" + b"ipfs://bafkreiexample/".hex()
    back = Reference.from_chain(chain)
    assert back == Reference(StorageType.IPFS, ref.uri, DIGEST, None)
    assert back.is_directory
    assert Reference.from_chain({"storage": {"IPFS": None}, "uri": ref.uri, "digest": list(DIGEST)}) == back


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://AKIA:secret@bucket/key", "must not carry credentials"),
        ("s3://bucket/key?X-Amz-Signature=abc", "must not carry credentials or a query string"),
        ("", "must not be empty"),
    ],
)
def test_refuses_empty_uris_and_uris_with_credentials(uri: str, message: str) -> None:
    # The URI length is the chain's limit (MaxUriLen), checked by PalletLimits: tests/chain/test_pallet_facts.py.
    with pytest.raises(UsageError, match=message):
        Reference(StorageType.S3 if uri.startswith("s3") else StorageType.LOCAL, uri, DIGEST)


def test_refuses_scheme_and_type_mismatch_and_bad_digests() -> None:
    with pytest.raises(UsageError, match="does not match"):
        Reference(StorageType.IPFS, "s3://bucket/key", DIGEST)
    with pytest.raises(UsageError, match="32 bytes"):
        Reference(StorageType.S3, "s3://bucket/key", DIGEST[:31])
    with pytest.raises(UsageError, match="Not a hex digest"):
        parse_digest("0xzz")
    assert parse_digest("0x" + DIGEST.hex()) == parse_digest(DIGEST.hex()) == DIGEST


def test_storage_type_of_uri() -> None:
    assert storage_type_of_uri("file:///x") is StorageType.LOCAL
    assert storage_type_of_uri("ipfs://cid") is StorageType.IPFS
    with pytest.raises(UsageError, match="Unsupported artifact URI"):
        storage_type_of_uri("gs://bucket/x")
