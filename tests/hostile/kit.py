"""Building blocks of the hostile-results suite: a numpy creator bundle, honest results, and hostile bytes.

Hostile uploads bypass our own store (which would refuse to make them): a
:class:`RawUpload` puts raw bytes under their SHA-256 in S3 and returns the
reference a dishonest contributor would record on chain. It is fault
injection, not a fake: every download still goes through the real stores.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from decentralml.fl.weights import save_weights
from decentralml.primitives.digests import file_digest
from decentralml.storage.reference import Reference, StorageType

SHAPES = {"dense.bias": (10,), "dense.kernel": (64, 10)}
SHARD_SIZE = 500

CREATOR_BUNDLE = '''
"""A numpy creator bundle for the hostile-results suite: accepts finite models close to the target."""
from pathlib import Path

import numpy as np

from decentralml.fl.validation import Evaluation, validate_contribution as check
from decentralml.fl.weights import read_spec
from decentralml.primitives.digests import file_digest


def framework_name():
    return "numpy"


def shard_size():
    return %d


def evaluate_weights(weights):
    distance = max(float(np.abs(np.asarray(w, dtype=np.float64) - 1.0).max()) for w in weights.values())
    return Evaluation(loss=distance, accuracy=1.0 / (1.0 + distance))


def validate_contribution(weights_path, metrics_json, base_model_path):
    base = Path(base_model_path)
    return check(Path(weights_path), metrics_json, base_spec=read_spec(base), base_digest=file_digest(base)[0].hex(),
                 evaluate=evaluate_weights, threshold=0.5, framework="numpy")
''' % SHARD_SIZE


def write_creator_bundle(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model_creator.py").write_text(CREATOR_BUNDLE)
    return directory


def base_model(path: Path) -> Path:
    save_weights(path, {name: np.zeros(shape, np.float32) for name, shape in SHAPES.items()})
    return path


def honest_result(directory: Path, base: Path, seed: int, *, num_samples: int = 400) -> Path:
    """A result close to the target (all ones), moved in its own random direction."""
    rng = np.random.default_rng(seed)
    weights = {n: (1.0 + 0.1 * rng.standard_normal(s)).astype(np.float32) for n, s in SHAPES.items()}
    directory.mkdir(parents=True)
    save_weights(directory / "weights.safetensors", weights)
    (directory / "metrics.json").write_text(json.dumps({
        "num_samples": num_samples, "loss": 0.1, "accuracy": 0.9, "framework": "numpy",
        "base_model_digest": file_digest(base)[0].hex(),
    }))
    return directory


def metrics_bytes(base: Path, **changes: Any) -> bytes:
    body = {"num_samples": 400, "loss": 0.1, "accuracy": 0.9, "framework": "numpy", "base_model_digest": file_digest(base)[0].hex()}
    body.update(changes)
    return json.dumps(body).encode()


# --- tar streams ----------------------------------------------------------------------------


def tar_of(members: list[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.GNU_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if info.isreg() and data else None)
    return buffer.getvalue()


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def sparse_bomb(apparent: int = 4 << 30) -> bytes:
    """A GNU sparse member: 3 KiB on the wire that a naive unpacker expands to ``apparent`` bytes."""
    header = bytearray(512)
    name = b"weights.safetensors"
    header[0:len(name)] = name
    header[100:108] = b"0000644\0"
    header[108:116] = b"0000000\0"
    header[116:124] = b"0000000\0"
    header[124:136] = b"%011o\0" % 512  # bytes stored
    header[136:148] = b"00000000000\0"
    header[156:157] = b"S"  # GNUTYPE_SPARSE
    header[257:265] = b"ustar  \0"
    # one sparse map entry: 512 bytes at offset apparent - 512; the real size is ``apparent``
    header[386:398] = b"%011o\0" % (apparent - 512)
    header[398:410] = b"%011o\0" % 512
    header[483:495] = b"%011o\0" % apparent
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header) + b"\x01" * 512 + b"\0" * 1024


def safetensors_bytes(header: dict[str, Any] | bytes, data: bytes) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


@dataclass
class RawUpload:
    """Puts raw bytes into S3 under their digest, as a dishonest contributor could; returns the reference."""

    s3_client: Any
    bucket: str
    prefix: str = "hostile"

    def put_bytes(self, data: bytes, *, directory: bool) -> Reference:
        digest = hashlib.sha256(data).digest()
        key = f"{self.prefix}/{digest.hex()}" + ("/pack.tar" if directory else "")
        self.s3_client.put_object(Bucket=self.bucket, Key=key, Body=data)
        uri = f"s3://{self.bucket}/{self.prefix}/{digest.hex()}" + ("/" if directory else "")
        return Reference(StorageType.S3, uri, digest, len(data))


class FixedStore:
    """An ArtifactStore whose put returns a prepared reference (the upload was made by other means)."""

    storage_type = StorageType.S3

    def __init__(self, ref: Reference) -> None:
        self.ref = ref

    def put(self, path: Path, *, progress: Any = None) -> Reference:
        return self.ref
