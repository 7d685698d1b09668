"""Parsing of store addresses and secrets (pure)."""

from __future__ import annotations

import pytest

from decentralml.errors import ConfigError, UsageError
from decentralml.storage import Reference, StorageType
from decentralml.storage.ipfs import IpfsStore, _auth_header, api_base_url
from decentralml.storage.s3 import S3Store


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:5001", "http://127.0.0.1:5001"),
        ("http://127.0.0.1:5001/", "http://127.0.0.1:5001"),
        ("/ip4/10.0.0.2/tcp/5001", "http://10.0.0.2:5001"),
        ("/ip4/10.0.0.2/tcp/5001/http", "http://10.0.0.2:5001"),
        ("/dns/ipfs.example/tcp/443/https", "https://ipfs.example:443"),
        ("/ip6/::1/tcp/5001", "http://[::1]:5001"),
    ],
)
def test_ipfs_api_addresses(given: str, expected: str) -> None:
    assert api_base_url(given) == expected


@pytest.mark.parametrize("bad", ["localhost:5001", "http://user:pw@host:5001", "/ip4/1.2.3.4/udp/1"])
def test_bad_ipfs_api_addresses(bad: str) -> None:
    with pytest.raises(UsageError, match="Invalid IPFS API address"):
        api_base_url(bad)


def test_ipfs_auth_secrets() -> None:
    assert _auth_header("bearer:abc") == {"Authorization": "Bearer abc"}
    assert _auth_header("basic:u:p") == {"Authorization": "Basic dTpw"}
    assert _auth_header(None) == {}
    with pytest.raises(ConfigError, match="IPFS API auth must be"):
        _auth_header("token-without-kind")
    assert "abc" not in repr(IpfsStore("http://127.0.0.1:1", auth="bearer:abc"))


def test_cid_and_s3_locations() -> None:
    digest = bytes(32)
    assert IpfsStore.cid_of(Reference(StorageType.IPFS, "ipfs://bafyabc/", digest)) == "bafyabc"
    with pytest.raises(UsageError, match="is not ipfs://<CID>"):
        IpfsStore.cid_of(Reference(StorageType.IPFS, "ipfs://bafy/../x", digest))
    assert S3Store.location(Reference(StorageType.S3, "s3://b/p/" + "ab" * 32, digest)) == ("b", "p/" + "ab" * 32)
    assert S3Store.location(Reference(StorageType.S3, "s3://b/p/x/", digest)) == ("b", "p/x/pack.tar")
    with pytest.raises(UsageError, match="names no object"):
        S3Store.location(Reference(StorageType.S3, "s3://bucket-only/", digest))
