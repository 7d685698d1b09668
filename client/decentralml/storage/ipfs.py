"""IPFS artifact store: a Kubo daemon's RPC API (``/api/v0``).

Caller passes ``api`` (the Kubo RPC address, e.g. ``http://127.0.0.1:5001``, or
a multiaddr such as ``/ip4/127.0.0.1/tcp/5001``), optionally ``auth`` (a Kubo
``API.Authorizations`` secret: ``bearer:<token>`` or ``basic:<user>:<password>``;
never logged, never in a reference) and ``timeout`` (seconds a connection may
stay silent, and how long the daemon may search for an artifact before a get;
transfers themselves have no overall limit).

A file is added as one UnixFS file (``ipfs://<CID>``), a directory as a UnixFS
directory (``ipfs://<CID>/``); both pinned on put, CID version 1, 1 MiB leaves
(``chunker``; so CIDs differ from a default ``ipfs add`` of the same bytes, which
does not matter: the SHA-256 on chain is what is checked). The digest of
a directory is the SHA-256 of its deterministic pack
(:mod:`decentralml.primitives.packing`), computed while the files stream to the
daemon and recomputed from the fetched tree on get.

Client: ``ipfshttpclient.Client`` constructed directly (``ipfshttpclient.connect``
refuses daemons newer than 0.8 by version) for the small local queries (version,
pin ls, pin rm). Plain HTTP to the same API (the standard library's
``http.client``) is used where the library falls short: ``cat`` and ``get``
(the library buffers whole objects in memory; we stream, over HTTP/1.0 so the
body arrives unframed) and ``add`` (we stream a multipart body of known length
that we build ourselves, so that empty directories, Unicode names and the pack
digest come out right in one read of the files).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import secrets
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from decentralml.errors import (
    ArtifactNotFoundError,
    ConfigError,
    DecentralMLError,
    IntegrityError,
    StorageAuthError,
    StorageError,
    StorageUnreachableError,
    UsageError,
)
from decentralml.primitives import packing
from decentralml.primitives.budget import Budget, ByteCounter, CountingReader
from decentralml.primitives.digests import pack_digest
from decentralml.primitives.staging import staged_path
from decentralml.storage.base import (
    CHUNK_SIZE,
    ChunkReader,
    HashingFileWriter,
    TransferObserver,
    check_get_dest,
    check_put_source,
    observer,
    prefetch,
    verify,
)
from decentralml.storage.reference import Reference, StorageType

_ROOT_NAME = "artifact"
#: 1 MiB leaves (Kubo's default is 256 KiB): a quarter of the blocks for large model
#: files, about 30% less daemon work per add; still within Bitswap's block limit.
DEFAULT_CHUNKER = "size-1048576"
_NOT_FOUND_MARKERS = (
    "not found", "could not find", "no link named", "invalid path", "failed to resolve",
)


def api_base_url(api: str) -> str:
    """``http://host:port`` from an http(s) URL or a ``/ip4|ip6|dns*/<host>/tcp/<port>[/http|https]`` multiaddr."""
    text = api.strip().rstrip("/")
    if text.startswith(("http://", "https://")):
        parts = urlsplit(text)
        if not parts.hostname or "@" in parts.netloc:
            raise UsageError(f"Invalid IPFS API address {api!r}: expected http://host:port.")
        return f"{parts.scheme}://{parts.netloc}"
    fields = text.split("/")
    if len(fields) >= 5 and fields[1] in ("ip4", "ip6", "dns", "dns4", "dns6") and fields[3] == "tcp":
        scheme = "https" if fields[-1] == "https" else "http"
        host = f"[{fields[2]}]" if fields[1] == "ip6" else fields[2]
        return f"{scheme}://{host}:{fields[4]}"
    raise UsageError(f"Invalid IPFS API address {api!r}: expected http://host:port or /ip4/host/tcp/port.")


def _multiaddr_of(base_url: str) -> str:
    parts = urlsplit(base_url)
    host = parts.hostname or "127.0.0.1"
    proto = "ip6" if ":" in host else ("ip4" if host.replace(".", "").isdigit() else "dns")
    return f"/{proto}/{host}/tcp/{parts.port or 5001}/{parts.scheme}"


def _auth_header(auth: str | None) -> dict[str, str]:
    if not auth:
        return {}
    kind, _, secret = auth.partition(":")
    if kind == "bearer" and secret:
        return {"Authorization": f"Bearer {secret}"}
    if kind == "basic" and ":" in secret:
        import base64

        return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}
    raise ConfigError("IPFS API auth must be 'bearer:<token>' or 'basic:<user>:<password>'.")


class IpfsStore:
    """An :class:`~decentralml.storage.base.ArtifactStore` on a Kubo daemon."""

    storage_type = StorageType.IPFS

    def __init__(
        self, api: str, *, auth: str | None = None, timeout: float = 60.0, chunker: str = DEFAULT_CHUNKER
    ) -> None:
        self.base_url = api_base_url(api)
        self.chunker = chunker
        self.timeout = timeout
        self._headers = _auth_header(auth)
        self._client: Any = None

    def __repr__(self) -> str:
        return f"IpfsStore({self.base_url!r})"

    # --- clients -----------------------------------------------------------------

    @property
    def client(self) -> Any:
        """ipfshttpclient, without its daemon version check, for local-only queries."""
        if self._client is None:
            import ipfshttpclient

            self._client = ipfshttpclient.Client(
                _multiaddr_of(self.base_url), offline=True, headers=self._headers, timeout=self.timeout
            )
        return self._client

    def _download(
        self, command: str, params: dict[str, Any], *, check_length: bool = False, deadline: bool = False
    ) -> Iterator[bytes]:
        """POST a command and yield the response body in pieces of up to 1 MiB.

        Sent as HTTP/1.0 so that Kubo writes the body unframed instead of in
        4 KiB HTTP/1.1 chunks, which Python would otherwise parse one by one
        (about three times slower). With ``check_length`` (``cat``), a body of
        another length than Kubo's announced ``X-Content-Length`` is reported as
        a failed transfer.
        """
        from urllib.parse import urlencode

        parts = urlsplit(self.base_url)
        factory = _Http10SConnection if parts.scheme == "https" else _Http10Connection
        if deadline:  # Kubo gives up on the whole command after this long
            params = {**params, "timeout": f"{int(self.timeout)}s"}
        query = urlencode(params)
        connection = factory(parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout)
        try:
            try:
                connection.request(
                    "POST", f"/api/v0/{command}?{query}", body=b"", headers={**self._headers, "Content-Length": "0"}
                )
                response = connection.getresponse()
            except (OSError, http.client.HTTPException):
                raise self._unreachable() from None
            if response.status >= 400:
                raise self._http_error(response.status, response.read(), command, params.get("arg"))
            announced = response.getheader("X-Content-Length")
            received = 0
            while True:
                try:
                    chunk = response.read(CHUNK_SIZE)
                except (OSError, http.client.HTTPException):
                    raise StorageUnreachableError(f"The IPFS daemon at {self.base_url} dropped the transfer.") from None
                if not chunk:
                    break
                received += len(chunk)
                yield chunk
            if check_length and announced is not None and announced.isdigit() and received != int(announced):
                raise StorageError(
                    f"The IPFS transfer from {self.base_url} stopped after {received} of {announced} bytes: try again."
                )
        finally:
            connection.close()

    def _unreachable(self) -> StorageUnreachableError:
        return StorageUnreachableError(
            f"No IPFS daemon answers at {self.base_url}.", hint="Start it (ipfs daemon) or check --ipfs-api."
        )

    def _http_error(self, status: int, content: bytes, command: str, arg: Any) -> DecentralMLError:
        if status in (401, 403):
            return StorageAuthError(
                f"The IPFS daemon at {self.base_url} refused the credentials ({status}).",
                hint="Check the IPFS API auth secret.",
            )
        try:
            message = str(json.loads(content).get("Message", ""))
        except (ValueError, AttributeError):
            message = content[:200].decode("utf-8", "replace")
        message = message.strip().splitlines()[0] if message.strip() else f"HTTP {status}"
        if "deadline exceeded" in message.lower():
            return ArtifactNotFoundError(
                f"The IPFS daemon at {self.base_url} found no {arg or 'object'} within {self.timeout:g} s.",
                hint="Check the CID, or that a node holding it is online.",
            )
        if any(marker in message.lower() for marker in _NOT_FOUND_MARKERS) or status == 404:
            return ArtifactNotFoundError(f"IPFS has no {arg or 'object'} at {self.base_url}: {message}.")
        return StorageError(f"IPFS {command} failed at {self.base_url}: {message}.")

    def _library_call(self, fn: Any, *args: Any, missing_ok: bool = False, **kwargs: Any) -> Any:
        """Call ipfshttpclient, translating its errors; ``missing_ok``: an error reply gives None."""
        import ipfshttpclient.exceptions as iexc

        try:
            with warnings.catch_warnings():
                # ipfshttpclient 0.7 passes urllib3 a parameter it deprecated; harmless, not the user's concern.
                warnings.filterwarnings("ignore", message=".*'strict' parameter", category=FutureWarning)
                return fn(*args, **kwargs)
        except iexc.ConnectionError:
            raise self._unreachable() from None
        except iexc.TimeoutError:
            raise StorageUnreachableError(f"The IPFS daemon at {self.base_url} timed out.") from None
        except iexc.ErrorResponse as exc:
            if missing_ok:
                return None
            raise StorageError(f"IPFS request failed at {self.base_url}: {str(exc).splitlines()[0]}.") from None
        except iexc.StatusError as exc:
            status = getattr(getattr(exc, "original", None), "response", None)
            code = getattr(status, "status_code", None)
            if code in (401, 403):
                raise StorageAuthError(
                    f"The IPFS daemon at {self.base_url} refused the credentials ({code}).",
                    hint="Check the IPFS API auth secret.",
                ) from None
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StorageError(f"IPFS request failed at {self.base_url}: {first}.") from None

    def version(self) -> str:
        """The daemon's version string (a cheap connectivity and auth check)."""
        return str(self._library_call(self.client.version)["Version"])

    # --- put ---------------------------------------------------------------------

    def put(self, path: Path, *, progress: TransferObserver | None = None) -> Reference:
        source = check_put_source(path)
        obs = observer(progress)
        boundary = "decentralml-" + secrets.token_hex(12)
        if source.is_dir():
            plan = _dir_plan(packing.list_entries(source), boundary)
        else:
            plan = _file_plan(source, boundary)
        total = sum(s.size for s in plan if isinstance(s, _FileContent))
        digest, counter = hashlib.sha256(), [0]
        obs.begin(f"adding {source.name}", total)
        try:
            # Reading and hashing run one thread ahead of the socket.
            body = prefetch(_stream_plan(plan, digest, counter, obs))
            params = {"pin": "true", "cid-version": "1", "chunker": self.chunker, "progress": "false"}
            lines = self._upload("add", params, body, _body_length(plan), f"multipart/form-data; boundary={boundary}")
        finally:
            obs.end()
        root = [item for item in lines if item.get("Name") == _ROOT_NAME]
        if not root or "Hash" not in root[-1]:
            raise StorageError(f"The IPFS daemon at {self.base_url} did not report the added root CID.")
        cid = str(root[-1]["Hash"])
        uri = f"ipfs://{cid}/" if source.is_dir() else f"ipfs://{cid}"
        return Reference(StorageType.IPFS, uri, digest.digest(), counter[0])

    def _upload(
        self, command: str, params: dict[str, Any], body: Iterator[bytes], length: int, content_type: str
    ) -> list[dict[str, Any]]:
        """POST a streamed body of known length; return the JSON lines of the reply."""
        from urllib.parse import urlencode

        parts = urlsplit(self.base_url)
        factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        query = urlencode(params)  # no daemon deadline: a large add may take longer than `timeout`
        connection = factory(parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout)
        try:
            try:
                connection.connect()
            except OSError:
                raise self._unreachable() from None
            try:
                connection.putrequest("POST", f"/api/v0/{command}?{query}", skip_accept_encoding=True)
                for name, value in {**self._headers, "Content-Type": content_type,
                                    "Content-Length": str(length)}.items():
                    connection.putheader(name, value)
                connection.endheaders()
                for chunk in body:
                    connection.send(chunk)
            except (OSError, http.client.HTTPException):
                pass  # the daemon may have answered early (e.g. 403): read its reply below
            try:
                response = connection.getresponse()
                content = response.read()
            except (OSError, http.client.HTTPException):
                raise StorageUnreachableError(f"The IPFS daemon at {self.base_url} dropped the upload.") from None
            if response.status >= 400:
                raise self._http_error(response.status, content, command, None)
            try:
                return [json.loads(line) for line in content.splitlines() if line.strip()]
            except ValueError:
                raise StorageError(f"The IPFS daemon at {self.base_url} sent an unreadable reply to {command}.") from None
        finally:
            connection.close()

    # --- get ---------------------------------------------------------------------

    @staticmethod
    def cid_of(ref: Reference) -> str:
        if ref.storage_type is not StorageType.IPFS or not ref.uri.startswith("ipfs://"):
            raise UsageError(f"Not an IPFS reference: {ref.uri!r}.")
        cid = ref.uri[len("ipfs://"):].rstrip("/")
        if not cid or "/" in cid or not cid.isalnum():
            raise UsageError(f"IPFS URI {ref.uri!r} is not ipfs://<CID>.")
        return cid

    def _locate(self, cid: str) -> None:
        """Resolve the root block within ``timeout`` (ArtifactNotFoundError if nobody has it).

        The transfer that follows has no daemon-side deadline, only the socket's
        inactivity timeout, so that large artifacts are not cut off."""
        for _ in self._download("block/stat", {"arg": cid}, deadline=True):
            pass

    def announced_size(self, cid: str) -> tuple[str, int]:
        """``(type, bytes)`` the DAG announces before any of it is fetched (Kubo ``files/stat``:
        a file's size, a directory's cumulative size, encoding included)."""
        body = b"".join(self._download("files/stat", {"arg": f"/ipfs/{cid}"}, deadline=True))
        try:
            stat = json.loads(body)
            kind = str(stat["Type"])
            size = int(stat["Size"] if kind == "file" else stat["CumulativeSize"])
        except (ValueError, KeyError, TypeError):
            raise StorageError(f"The IPFS daemon at {self.base_url} answered files/stat with no size for {cid}.") from None
        return kind, size

    def get(
        self, ref: Reference, dest: Path, *, progress: TransferObserver | None = None, budget: Budget | None = None
    ) -> Path:
        """Fetch ``ref``: the DAG's announced size is checked against ``budget`` first, then the bytes
        are counted while they arrive."""
        cid = self.cid_of(ref)
        dest = check_get_dest(dest)
        budget = budget or Budget()
        self._locate(cid)
        kind, announced = self.announced_size(cid)
        # A directory's cumulative size includes its UnixFS encoding: allow 1/16 for it.
        budget.check_announced(ref.uri, announced if kind == "file" else announced - announced // 17)
        obs = observer(progress)
        obs.begin(f"fetching {cid[:16]}…", ref.size)
        try:
            if ref.is_directory:
                return self._get_dir(ref, cid, dest, obs, budget)
            counter = ByteCounter(ref.uri, budget.max_total_bytes)
            with staged_path(dest) as tmp:
                with HashingFileWriter(tmp) as writer:
                    for chunk in self._download("cat", {"arg": cid}, check_length=True):
                        counter.add(len(chunk))
                        writer.write(chunk)
                        obs.advance(len(chunk))
                    digest, size = writer.finish()
                verify(ref, digest, size)
            return dest
        finally:
            obs.end()

    def _get_dir(self, ref: Reference, cid: str, dest: Path, obs: TransferObserver, budget: Budget) -> Path:
        with tempfile.TemporaryDirectory(prefix=".decentralml-ipfs-", dir=dest.parent) as tmpdir:
            reader = ChunkReader(self._download("get", {"arg": cid, "archive": "true"}), obs.advance)
            # Kubo's archive adds one root directory (the CID) above the tree.
            packing.unpack(reader, Path(tmpdir), budget, what=ref.uri, root=cid)  # type: ignore[arg-type]
            CountingReader(reader, ByteCounter(ref.uri, 64 * 1024)).read()  # the tar's end blocks, nothing else
            tree = Path(tmpdir) / cid
            if not tree.is_dir():
                raise IntegrityError(f"Artifact {ref.uri} is a file, its reference says a directory: it was not used.")
            digest, size = pack_digest(tree)
            verify(ref, digest, size)
            tree.rename(dest)
        return dest

    # --- exists / delete -----------------------------------------------------------

    def exists(self, ref: Reference) -> bool:
        """True when the daemon has the artifact pinned (what our puts do)."""
        cid = self.cid_of(ref)
        result = self._library_call(self.client.pin.ls, cid, type="recursive", missing_ok=True)
        return bool(result and result.get("Keys"))

    def delete(self, ref: Reference) -> None:
        """Unpin the artifact; the daemon's garbage collection reclaims the blocks."""
        cid = self.cid_of(ref)
        if self.exists(ref):
            self._library_call(self.client.pin.rm, cid, missing_ok=True)


# --- helpers -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Digested:
    """Bytes that belong to the artifact's digest (pack headers, padding) but are not sent."""

    data: bytes


@dataclass(frozen=True)
class _FileContent:
    """A file's bytes: sent and digested."""

    path: Path
    size: int


_Segment = bytes | _Digested | _FileContent


def _part_header(boundary: str, name: str, content_type: str) -> bytes:
    return (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{quote(name, safe="")}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode("ascii")


def _file_plan(path: Path, boundary: str) -> list[_Segment]:
    """The multipart body adding one file; its digest is the SHA-256 of the file."""
    return [
        _part_header(boundary, _ROOT_NAME, "application/octet-stream"),
        _FileContent(path, path.stat().st_size),
        f"\r\n--{boundary}--\r\n".encode("ascii"),
    ]


def _dir_plan(entries: list[packing.PackEntry], boundary: str) -> list[_Segment]:
    """The multipart body adding a directory tree, interleaved with the bytes of its
    deterministic pack, so that one read of the files yields both."""
    plan: list[_Segment] = [_part_header(boundary, _ROOT_NAME, "application/x-directory") + b"\r\n"]
    for entry in entries:
        plan.append(_Digested(packing.entry_headers(entry)))
        name = f"{_ROOT_NAME}/{entry.name.rstrip('/')}"
        if entry.is_dir:
            plan.append(_part_header(boundary, name, "application/x-directory") + b"\r\n")
            continue
        plan += [
            _part_header(boundary, name, "application/octet-stream"),
            _FileContent(entry.source, entry.size),
            _Digested(b"\0" * (-entry.size % packing.BLOCK)),
            b"\r\n",
        ]
    plan += [f"--{boundary}--\r\n".encode("ascii"), _Digested(b"\0" * (2 * packing.BLOCK))]
    return plan


def _body_length(plan: list[_Segment]) -> int:
    return sum(len(s) if isinstance(s, bytes) else s.size if isinstance(s, _FileContent) else 0 for s in plan)


def _stream_plan(plan: list[_Segment], digest: Any, counter: list[int], obs: TransferObserver) -> Iterator[bytes]:
    """Yield the body of ``plan``; update ``digest`` and ``counter[0]`` with the artifact's bytes."""
    for segment in plan:
        if isinstance(segment, bytes):
            yield segment
        elif isinstance(segment, _Digested):
            digest.update(segment.data)
            counter[0] += len(segment.data)
        else:
            sent = 0
            with open(segment.path, "rb") as fh:
                while sent < segment.size and (chunk := fh.read(min(CHUNK_SIZE, segment.size - sent))):
                    digest.update(chunk)
                    obs.advance(len(chunk))
                    sent += len(chunk)
                    yield chunk
                if sent != segment.size or fh.read(1):
                    raise UsageError(f"{str(segment.path)!r} changed while it was being added: try again.")
            counter[0] += sent


class _Http10Connection(http.client.HTTPConnection):
    """An HTTP/1.0 connection (see :meth:`IpfsStore._download`)."""

    _http_vsn = 10
    _http_vsn_str = "HTTP/1.0"


class _Http10SConnection(http.client.HTTPSConnection):
    _http_vsn = 10
    _http_vsn_str = "HTTP/1.0"
