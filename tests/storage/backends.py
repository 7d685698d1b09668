"""Per-backend harnesses for the storage contract suite.

Each harness opens the store under test and knows the few things the contract
needs that the store interface does not offer: how to damage a stored object,
where a reference to a missing object or a wrong location points, and how to
build a store with bad credentials or an endpoint nobody answers at.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path

import requests

from decentralml.errors import (
    ArtifactNotFoundError,
    DecentralMLError,
    LocalPathError,
    StorageAuthError,
    StorageUnreachableError,
    UsageError,
)
from decentralml.storage import Reference, StorageType, StoreSettings, open_store
from decentralml.storage.base import ArtifactStore
from decentralml.storage.local import LocalStore
from decentralml.storage.s3 import S3Store
from tests.fixtures.services import IpfsDaemon, S3Server, free_port


@dataclass
class Expectation:
    """A store or reference that must fail, and the error class it must fail with."""

    store: ArtifactStore
    ref: Reference | None
    error: type[DecentralMLError]


class Harness:
    name: str
    store: ArtifactStore

    def tamper(self, ref: Reference) -> Reference:
        """Make the object behind ``ref`` differ from its digest; return the reference to fetch."""
        raise NotImplementedError

    def missing(self, directory: bool = False) -> Reference:
        """A well-formed reference to an object the store does not hold."""
        raise NotImplementedError

    def wrong_location(self, ref: Reference) -> Expectation | None:
        """``ref`` moved to a location that does not exist (bucket, data dir); None if n/a."""
        raise NotImplementedError

    def bad_credentials(self) -> Expectation | None:
        raise NotImplementedError

    def unreachable(self) -> Expectation:
        raise NotImplementedError

    def leftovers(self) -> set[str]:
        """What the store holds right now (to check that failed puts leave nothing)."""
        raise NotImplementedError


class LocalHarness(Harness):
    name = "local"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.store = LocalStore(data_dir)

    def tamper(self, ref: Reference) -> Reference:
        path = self.store.path_of(ref)
        if ref.is_directory:
            victim = next(p for p in sorted(path.rglob("*")) if p.is_file())
            victim.write_bytes(victim.read_bytes() + b"tampered")
        else:
            path.write_bytes(path.read_bytes() + b"tampered")
        return ref

    def missing(self, directory: bool = False) -> Reference:
        digest = hashlib.sha256(os.urandom(16)).digest()
        return Reference(StorageType.LOCAL, self.store.uri_for(digest, directory=directory), digest, None)

    def wrong_location(self, ref: Reference) -> Expectation | None:
        other = LocalStore(self.data_dir.parent / "another-data-dir")
        return Expectation(other, ref, UsageError)

    def bad_credentials(self) -> Expectation | None:
        return None  # the local store has no credentials

    def unreachable(self) -> Expectation:
        blocker = self.data_dir.parent / "not-a-directory"
        blocker.write_bytes(b"")
        # the local store's "endpoint" is a directory of this machine: a local path error (exit 3)
        return Expectation(LocalStore(blocker / "data"), None, LocalPathError)

    def leftovers(self) -> set[str]:
        found: set[str] = set()
        for area in (self.store.files_dir, self.store.dirs_dir):
            if area.exists():
                found |= {f"{area.name}/{p.name}" for p in area.iterdir()}
        return found


class S3Harness(Harness):
    name = "s3"

    def __init__(self, server: S3Server, bucket: str) -> None:
        self.server = server
        self.bucket = bucket
        self.settings = StoreSettings(s3_bucket=bucket, s3_prefix="artifacts", s3_endpoint_url=server.endpoint_url,
                                      timeout=5)
        self.store = open_store("s3", self.settings)

    def tamper(self, ref: Reference) -> Reference:
        bucket, key = S3Store.location(ref)
        body = bytearray(self.server.client().get_object(Bucket=bucket, Key=key)["Body"].read())
        if not body:
            body = bytearray(b"x")
        elif ref.is_directory:  # a directory's digest covers its content, not the tar's padding: change a file
            with tarfile.open(fileobj=io.BytesIO(bytes(body))) as archive:
                victim = next(m for m in archive.getmembers() if m.isfile() and m.size)
            body[victim.offset_data] ^= 1
        else:
            body[-1] ^= 1
        self.server.client().put_object(Bucket=bucket, Key=key, Body=bytes(body))
        return ref

    def missing(self, directory: bool = False) -> Reference:
        digest = hashlib.sha256(os.urandom(16)).digest()
        uri = f"s3://{self.bucket}/artifacts/{digest.hex()}" + ("/" if directory else "")
        return Reference(StorageType.S3, uri, digest, None)

    def wrong_location(self, ref: Reference) -> Expectation | None:
        _, _, key = ref.uri[len("s3://"):].partition("/")
        moved = replace(ref, uri=f"s3://no-such-bucket-{os.urandom(4).hex()}/{key}")
        return Expectation(self.store, moved, ArtifactNotFoundError)

    def bad_credentials(self) -> Expectation | None:
        if not self.server.checks_credentials:
            return None  # moto's server accepts any credentials
        return Expectation(self.store, None, StorageAuthError)  # the test swaps the secret in the environment

    def unreachable(self) -> Expectation:
        settings = replace(self.settings, s3_endpoint_url=f"http://127.0.0.1:{free_port()}", timeout=2)
        return Expectation(open_store("s3", settings), None, StorageUnreachableError)

    def leftovers(self) -> set[str]:
        client = self.server.client()
        keys = {o["Key"] for o in client.list_objects_v2(Bucket=self.bucket).get("Contents", [])}
        uploads = {u["Key"] for u in client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])}
        return keys | {f"(multipart) {k}" for k in uploads}


class IpfsHarness(Harness):
    name = "ipfs"

    def __init__(self, daemon: IpfsDaemon) -> None:
        self.daemon = daemon
        self.settings = StoreSettings(ipfs_api=daemon.api, ipfs_auth=daemon.auth, timeout=10)
        self.store = open_store("ipfs", self.settings)

    def _rpc(self, command: str, **params: str) -> requests.Response:
        token = self.daemon.auth.split(":", 1)[1]
        response = requests.post(
            f"{self.daemon.api}/api/v0/{command}", params=params, headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        response.raise_for_status()
        return response

    def _add_bytes(self, data: bytes, *, only_hash: bool) -> str:
        token = self.daemon.auth.split(":", 1)[1]
        response = requests.post(
            f"{self.daemon.api}/api/v0/add",
            params={"cid-version": "1", "only-hash": str(only_hash).lower(), "pin": "true"},
            files={"file": ("blob", data)}, headers={"Authorization": f"Bearer {token}"}, timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["Hash"])

    def tamper(self, ref: Reference) -> Reference:
        # IPFS objects cannot change under a CID: the attack is a reference whose CID
        # points at other content than its digest describes.
        if ref.is_directory:
            other = self.daemon.cli("add", "-Q", "-r", "--cid-version=1", str(self._other_tree())).stdout
            return replace(ref, uri=f"ipfs://{other.decode().strip()}/")
        return replace(ref, uri=f"ipfs://{self._add_bytes(b'other content ' + os.urandom(8), only_hash=False)}")

    def _other_tree(self) -> Path:
        root = self.daemon.ipfs_path.parent / f"other-{os.urandom(4).hex()}"
        (root / "sub").mkdir(parents=True)
        (root / "sub" / "x.txt").write_bytes(b"not the original")
        return root

    def missing(self, directory: bool = False) -> Reference:
        digest = hashlib.sha256(os.urandom(16)).digest()
        cid = self._add_bytes(os.urandom(64), only_hash=True)  # a real CID whose blocks were never stored
        return Reference(StorageType.IPFS, f"ipfs://{cid}" + ("/" if directory else ""), digest, None)

    def wrong_location(self, ref: Reference) -> Expectation | None:
        return None  # IPFS has no buckets or directories: a CID names content anywhere

    def bad_credentials(self) -> Expectation | None:
        store = open_store("ipfs", replace(self.settings, ipfs_auth="bearer:" + "0" * 32))
        return Expectation(store, None, StorageAuthError)

    def unreachable(self) -> Expectation:
        store = open_store("ipfs", replace(self.settings, ipfs_api=f"http://127.0.0.1:{free_port()}", timeout=2))
        return Expectation(store, None, StorageUnreachableError)

    def leftovers(self) -> set[str]:
        keys = self._rpc("pin/ls", type="recursive").json().get("Keys", {})
        return set(keys)
