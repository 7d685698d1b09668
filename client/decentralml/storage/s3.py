"""S3 artifact store (AWS S3, MinIO and other S3-compatible services) via boto3.

Caller passes: ``bucket`` (needed to put; gets use the bucket in the URI),
``prefix`` (key prefix, default ``decentralml``), ``endpoint_url`` (e.g.
``http://127.0.0.1:9000`` for MinIO; ``None`` for AWS), ``region``, ``profile``
(a named profile of the shared AWS files) and ``timeout``. Credentials come
only from boto3's standard chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
shared credential files, profiles, instance roles); they are never logged and
never part of a reference.

Keys are content-addressed: ``<prefix>/<sha256 hex>`` for a file and
``<prefix>/<sha256 hex>/pack.tar`` (the deterministic pack) for a directory,
whose URI is ``s3://<bucket>/<prefix>/<sha256 hex>/``. Uploads go straight to
the final key: a single PUT and a multipart upload (which S3 assembles only at
CompleteMultipartUpload, and which we abort on failure) are both atomic, so no
reader ever sees a half-written object. An object already stored under its
digest key with the right size is not uploaded again.

Transfers are multipart and concurrent (``TransferConfig``); requests are
retried by botocore (standard mode). Payload signing is off: integrity is
enforced end to end by our SHA-256 digest, checked on every get.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from decentralml.errors import (
    ArtifactNotFoundError,
    ConfigError,
    DecentralMLError,
    StorageAuthError,
    StorageError,
    StorageUnreachableError,
    UsageError,
)
from decentralml.primitives import packing
from decentralml.primitives.budget import Budget, ByteCounter
from decentralml.primitives.digests import file_digest, pack_digest
from decentralml.primitives.staging import remove_path, staged_path
from decentralml.storage.base import (
    CHUNK_SIZE,
    HashingFileWriter,
    TransferObserver,
    check_get_dest,
    check_put_source,
    observer,
    verify,
)
from decentralml.storage.reference import Reference, StorageType

PACK_NAME = "pack.tar"
MiB = 1 << 20

_AUTH_CODES = {
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
    "InvalidToken", "InvalidClientTokenId", "AuthorizationHeaderMalformed", "403", "Forbidden",
}
_MISSING_CODES = {"NoSuchKey", "404", "NotFound", "NoSuchBucket"}


class S3Store:
    """An :class:`~decentralml.storage.base.ArtifactStore` on S3."""

    storage_type = StorageType.S3

    def __init__(
        self,
        *,
        bucket: str | None,
        prefix: str = "decentralml",
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        timeout: float = 60.0,
        max_attempts: int = 5,
        part_size: int = 16 * MiB,
        max_concurrency: int = 8,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.region = region
        self.profile = profile
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.part_size = part_size
        self.max_concurrency = max_concurrency
        self._client: Any = None

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint_url={self.endpoint_url!r})"

    # --- boto3 ---------------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            import botocore.config
            import botocore.exceptions

            try:
                session = boto3.session.Session(profile_name=self.profile)
            except botocore.exceptions.ProfileNotFound:
                raise ConfigError(f"AWS profile {self.profile!r} is not configured.") from None
            config = botocore.config.Config(
                connect_timeout=min(self.timeout, 10),
                read_timeout=self.timeout,
                retries={"max_attempts": self.max_attempts, "mode": "standard"},
                max_pool_connections=self.max_concurrency + 2,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                s3={
                    "payload_signing_enabled": False,
                    "addressing_style": "path" if self.endpoint_url else "auto",
                },
            )
            try:
                self._client = session.client(
                    "s3",
                    endpoint_url=self.endpoint_url,
                    region_name=self.region or session.region_name or "us-east-1",
                    config=config,
                )
            except ValueError as exc:  # e.g. a malformed endpoint URL
                raise UsageError(f"Invalid S3 endpoint {self.endpoint_url!r}: {exc}.") from None
        return self._client

    def _transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=self.part_size,
            multipart_chunksize=self.part_size,
            max_concurrency=self.max_concurrency,
            io_chunksize=256 * 1024,
            max_io_queue=64,  # bounds buffered download chunks (memory) to 16 MiB
            use_threads=True,
        )

    # --- keys --------------------------------------------------------------

    def _key(self, digest: bytes, *, directory: bool) -> str:
        base = f"{self.prefix}/{digest.hex()}" if self.prefix else digest.hex()
        return f"{base}/{PACK_NAME}" if directory else base

    def _uri(self, bucket: str, digest: bytes, *, directory: bool) -> str:
        base = f"{self.prefix}/{digest.hex()}" if self.prefix else digest.hex()
        return f"s3://{bucket}/{base}" + ("/" if directory else "")

    @staticmethod
    def location(ref: Reference) -> tuple[str, str]:
        """The (bucket, key) holding a reference's bytes."""
        if ref.storage_type is not StorageType.S3 or not ref.uri.startswith("s3://"):
            raise UsageError(f"Not an S3 reference: {ref.uri!r}.")
        bucket, _, key = ref.uri[len("s3://"):].partition("/")
        if not bucket or not key.strip("/"):
            raise UsageError(f"S3 URI {ref.uri!r} names no object: expected s3://bucket/key.")
        return bucket, (key + PACK_NAME if ref.is_directory else key)

    # --- the store interface -------------------------------------------------

    def put(self, path: Path, *, progress: TransferObserver | None = None) -> Reference:
        source = check_put_source(path)
        if not self.bucket:
            raise ConfigError("No S3 bucket to store into: pass --s3-bucket (or s3://bucket/prefix).")
        obs = observer(progress)
        if source.is_dir():
            with tempfile.TemporaryDirectory(prefix="decentralml-pack-") as tmpdir:
                pack = Path(tmpdir) / PACK_NAME
                entries = packing.list_entries(source)
                obs.begin(f"packing {source.name}/", packing.pack_size(entries))
                try:
                    with open(pack, "wb") as out:
                        digest, size = packing.pack_to(source, out, obs.advance)
                finally:
                    obs.end()
                self._upload(pack, self._key(digest, directory=True), digest, size, obs)
            return Reference(StorageType.S3, self._uri(self.bucket, digest, directory=True), digest, size)
        obs.begin(f"hashing {source.name}", source.stat().st_size)
        try:
            digest, size = file_digest(source, obs.advance)
        finally:
            obs.end()
        self._upload(source, self._key(digest, directory=False), digest, size, obs)
        return Reference(StorageType.S3, self._uri(self.bucket, digest, directory=False), digest, size)

    def _upload(self, source: Path, key: str, digest: bytes, size: int, obs: TransferObserver) -> None:
        assert self.bucket is not None
        head = self._head(self.bucket, key, "check")
        if (
            head is not None
            and head.get("ContentLength") == size
            and head.get("Metadata", {}).get("sha256") == digest.hex()
        ):
            return  # content-addressed: already stored
        obs.begin(f"uploading {source.name}", size)
        try:
            self.client.upload_file(
                str(source),
                self.bucket,
                key,
                ExtraArgs={"Metadata": {"sha256": digest.hex()}, "ContentType": "application/octet-stream"},
                Config=self._transfer_config(),
                Callback=obs.advance,
            )
        except Exception as exc:
            own = _callers_exception(exc)
            if own is not None:
                raise own from None  # e.g. the caller's progress observer interrupted the upload
            raise self._translate(exc, "upload to", self.bucket, key, writing=True) from None
        finally:
            obs.end()

    def get(
        self, ref: Reference, dest: Path, *, progress: TransferObserver | None = None, budget: Budget | None = None
    ) -> Path:
        """Fetch ``ref``: the object's size is checked against ``budget`` before the first byte and
        counted while it arrives. A directory's digest is that of the canonical pack of the tree
        it unpacks to (not of the stored tar's bytes), so one content has one digest everywhere."""
        bucket, key = self.location(ref)
        dest = check_get_dest(dest)
        budget = budget or Budget()
        obs = observer(progress)
        if ref.is_directory:
            with tempfile.TemporaryDirectory(prefix="decentralml-pack-", dir=dest.parent) as tmpdir:
                pack = Path(tmpdir) / PACK_NAME
                self._download(ref, bucket, key, pack, obs, budget)
                with staged_path(dest, directory=True) as tmp:
                    with open(pack, "rb") as stream:
                        packing.unpack(stream, tmp, budget, what=ref.uri)
                    remove_path(pack)
                    digest, size = pack_digest(tmp)
                    verify(ref, digest, size)
            return dest
        with staged_path(dest) as tmp:
            digest, size = self._download(ref, bucket, key, tmp, obs, budget)
            verify(ref, digest, size)
        return dest

    def _download(
        self, ref: Reference, bucket: str, key: str, target: Path, obs: TransferObserver, budget: Budget
    ) -> tuple[bytes, int]:
        """Stream the object into ``target`` within ``budget``; its SHA-256 and size (``target`` removed on failure)."""
        head = self._head(bucket, key, "read")
        if head is None:
            raise ArtifactNotFoundError(f"Artifact {ref.uri} does not exist (bucket {bucket!r}, key {key!r}).")
        size = int(head.get("ContentLength", 0))
        budget.check_announced(ref.uri, size)
        counter = ByteCounter(ref.uri, budget.max_total_bytes)
        obs.begin(f"downloading {key.rsplit('/', 1)[-1]}", size)
        try:
            # One stream, hashed and written on a second thread as it arrives: on a
            # fast link this beats ranged parallel GETs followed by a hashing pass.
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
            with HashingFileWriter(target) as writer:
                while chunk := body.read(CHUNK_SIZE):
                    counter.add(len(chunk))
                    writer.write(chunk)
                    obs.advance(len(chunk))
                return writer.finish()
        except BaseException as exc:
            remove_path(target)
            own = _callers_exception(exc) if isinstance(exc, Exception) else exc
            if own is not None:
                raise own from None
            raise self._translate(exc, "download", bucket, key) from None
        finally:
            obs.end()

    def exists(self, ref: Reference) -> bool:
        bucket, key = self.location(ref)
        return self._head(bucket, key, "check") is not None

    def delete(self, ref: Reference) -> None:
        bucket, key = self.location(ref)
        try:
            self.client.delete_object(Bucket=bucket, Key=key)
        except Exception as exc:
            error = self._translate(exc, "delete", bucket, key)
            if not isinstance(error, ArtifactNotFoundError):
                raise error from None

    def _head(self, bucket: str, key: str, what: str) -> dict[str, Any] | None:
        """HEAD an object: its metadata, or None when it (or its bucket) does not exist."""
        try:
            return dict(self.client.head_object(Bucket=bucket, Key=key))
        except Exception as exc:
            error = self._translate(exc, what, bucket, key)
            if isinstance(error, ArtifactNotFoundError):
                return None
            raise error from None

    # --- errors ----------------------------------------------------------------

    def _translate(
        self, exc: BaseException, action: str, bucket: str, key: str, *, writing: bool = False
    ) -> DecentralMLError:
        """Turn a botocore / s3transfer failure into one of our errors (one line, no secrets)."""
        import botocore.exceptions as bexc

        if isinstance(exc, DecentralMLError):
            return exc
        where = self.endpoint_url or "AWS S3"
        root = _root_cause(exc)
        if isinstance(root, (bexc.NoCredentialsError, bexc.PartialCredentialsError)):
            return StorageAuthError(
                "No S3 credentials found.",
                hint="Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or configure an AWS profile.",
            )
        if isinstance(
            root,
            (bexc.EndpointConnectionError, bexc.ConnectTimeoutError, bexc.ReadTimeoutError,
             bexc.ConnectionClosedError, bexc.ConnectionError, bexc.ResponseStreamingError, ConnectionError),
        ):
            return StorageUnreachableError(
                f"No S3 service answers at {where}.",
                hint="Start it or check --s3-endpoint-url and the network.",
            )
        if isinstance(root, bexc.ClientError):
            error = root.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = root.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in _AUTH_CODES or status == 403:
                return StorageAuthError(
                    f"S3 at {where} refused the credentials for bucket {bucket!r} ({code or status}).",
                    hint="Check the AWS credentials and the bucket policy.",
                )
            if code == "NoSuchBucket" and writing:
                return StorageError(
                    f"Bucket {bucket!r} does not exist at {where}.",
                    hint="Create it or pass the right --s3-bucket.",
                )
            if code in _MISSING_CODES or status == 404:
                return ArtifactNotFoundError(f"No object s3://{bucket}/{key} at {where}.")
            message = str(error.get("Message", "")).splitlines()[0] if error.get("Message") else ""
            return StorageError(f"S3 could not {action} s3://{bucket}/{key}: {code} {message}".strip() + ".")
        if isinstance(root, OSError):
            return StorageError(f"Could not {action} s3://{bucket}/{key}: {root.strerror or root}.")
        first = str(root).splitlines()[0] if str(root) else type(root).__name__
        return StorageError(f"S3 could not {action} s3://{bucket}/{key}: {first}.")


def _callers_exception(exc: BaseException) -> BaseException | None:
    """The caller's own exception (e.g. raised by its progress observer) that a transfer
    failed with, unwrapped from botocore's HTTPClientError; None for transport failures."""
    import botocore.exceptions as bexc

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, bexc.HTTPClientError):
            inner = current.kwargs.get("error")
            if isinstance(inner, BaseException) and not isinstance(inner, (OSError, bexc.BotoCoreError)):
                module = type(inner).__module__
                if not module.startswith(("urllib3", "http.", "botocore", "ssl")):
                    return inner
            return None
        if isinstance(current, (bexc.BotoCoreError, bexc.ClientError, OSError)):
            return None
        module = type(current).__module__
        if not module.startswith(("boto3", "botocore", "s3transfer", "urllib3")):
            return current
        current = getattr(current, "last_exception", None) or current.__cause__ or current.__context__
    return None


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost botocore error behind s3transfer's wrappers (S3UploadFailedError, ...)."""
    import botocore.exceptions as bexc

    seen: set[int] = set()
    current: BaseException | None = exc
    best = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (bexc.BotoCoreError, bexc.ClientError)):
            best = current
        last = getattr(current, "last_exception", None)  # s3transfer RetriesExceededError
        current = last or current.__cause__ or current.__context__
    return best

