"""Model weights as named float arrays, exchanged as safetensors files.

A model travels as a ``weights.safetensors`` file (a JSON header plus raw
little-endian tensors: nothing in it can execute) and a ``metrics.json``
(:class:`ContributionMetrics`). Loaders accept nothing else: no pickles, no
``.npy`` with objects, no tensors whose names, shapes or dtypes differ from the
base model, no NaN or infinity.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from decentralml.errors import IntegrityError, TrainingError, UsageError
from decentralml.primitives import boundedjson
from decentralml.primitives.digests import file_digest
from decentralml.primitives.staging import staged_path

Weights = dict[str, np.ndarray]
"""Named tensors, one entry per model parameter."""

ElementReader = Callable[[str, np.ndarray, int], None]
"""``read(name, out, start)``: fill the 1-D ``out`` with elements ``start:start + out.size`` of tensor
``name`` in C order (no finiteness check: the caller checks what it computes)."""

WEIGHTS_FILE = "weights.safetensors"
METRICS_FILE = "metrics.json"
ALLOWED_DTYPES = frozenset({"float16", "float32", "float64"})
_SAFETENSORS_DTYPES = {"F16": "float16", "F32": "float32", "F64": "float64"}
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
#: safetensors' own header limit (``MAX_HEADER_SIZE`` in the safetensors crate): 100 MB.
_MAX_HEADER = 100_000_000
_MAX_HEADER_DEPTH = 8
#: metrics.json is a handful of fields: anything larger or deeper is refused unread.
MAX_METRICS_BYTES = 64 * 1024
MAX_METRICS_DEPTH = 8
#: The largest sample count a result may report (a sane integer; weighting bounds it further).
MAX_SAMPLES = 10**12
FRAMEWORKS = frozenset({"tensorflow", "torch", "numpy"})


@dataclass(frozen=True)
class TensorSpec:
    """The name, shape and dtype a tensor must have."""

    name: str
    shape: tuple[int, ...]
    dtype: str


ModelSpec = tuple[TensorSpec, ...]


@dataclass(frozen=True)
class ContributionMetrics:
    """What a contributor reports next to its weights (``metrics.json``)."""

    num_samples: int
    loss: float
    accuracy: float
    framework: str
    base_model_digest: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ContributionMetrics:
        """Parse and check a metrics document; raise TrainingError when malformed."""
        try:
            data = boundedjson.loads(text, max_bytes=MAX_METRICS_BYTES, max_depth=MAX_METRICS_DEPTH)
        except boundedjson.BoundedJSONError as exc:
            raise TrainingError(f"metrics.json is refused: {exc}.") from None
        if not isinstance(data, dict):
            raise TrainingError("metrics.json must be a JSON object.")
        missing = {"num_samples", "loss", "accuracy", "framework", "base_model_digest"} - data.keys()
        if missing:
            raise TrainingError(f"metrics.json lacks {', '.join(sorted(missing))}.")
        n = data["num_samples"]
        if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= MAX_SAMPLES:
            raise TrainingError(f"metrics.json: num_samples must be an integer from 1 to {MAX_SAMPLES}.")
        floats = {}
        for key in ("loss", "accuracy"):
            value = data[key]
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
                raise TrainingError(f"metrics.json: {key} must be a finite number of sane size.")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise TrainingError(f"metrics.json: {key} must be a finite number.")
            floats[key] = float(value)
        if not 0.0 <= floats["accuracy"] <= 1.0:
            raise TrainingError("metrics.json: accuracy must lie between 0 and 1.")
        if data["framework"] not in FRAMEWORKS:
            raise TrainingError(f"metrics.json: framework must be one of {', '.join(sorted(FRAMEWORKS))}.")
        digest = data["base_model_digest"]
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise TrainingError("metrics.json: base_model_digest must be 64 lowercase hex digits (SHA-256).")
        return cls(n, floats["loss"], floats["accuracy"], data["framework"], digest)


def spec_of(weights: Mapping[str, np.ndarray]) -> ModelSpec:
    """The spec (names, shapes, dtypes) of in-memory weights, sorted by name."""
    return tuple(TensorSpec(k, tuple(int(d) for d in v.shape), str(v.dtype)) for k, v in sorted(weights.items()))


def check_finite(name: str, array: np.ndarray) -> None:
    """Raise TrainingError when a tensor holds NaN or infinity."""
    if not np.isfinite(array).all():
        raise TrainingError(f"Tensor {name!r} holds NaN or infinite values: the contribution is unusable.")


def save_weights(path: Path, weights: Mapping[str, np.ndarray]) -> str:
    """Write weights as safetensors; return the file's SHA-256."""
    from safetensors.numpy import save_file

    for name, array in weights.items():
        if str(array.dtype) not in ALLOWED_DTYPES:
            raise UsageError(f"Tensor {name!r} has dtype {array.dtype}; only float16/32/64 are exchanged.")
        check_finite(name, array)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with staged_path(path) as partial:  # written beside the file and renamed onto it: never half-written
        save_file({k: v if v.flags.c_contiguous else v.copy(order="C") for k, v in weights.items()}, str(partial))
    return file_digest(path)[0].hex()


@dataclass(frozen=True)
class _Layout:
    """Where each tensor's bytes lie in a safetensors file (absolute offsets)."""

    spec: ModelSpec
    offsets: dict[str, tuple[int, int]]


def _read_layout(path: Path) -> _Layout:
    """Validate a whole safetensors file and return where its tensors lie.

    The safetensors library's own parser (``safe_open``) checks the file first;
    the layout is then read from the header with the same rules (the library
    does not expose offsets): header length within the file and 100 MB, JSON
    with unique names, known float dtypes, shapes of non-negative integers
    whose element count times the item size equals the tensor's byte span,
    spans sorted, contiguous from 0 and non-overlapping, the last ending
    exactly at the end of the file. Element counts are computed in Python
    integers (no overflow), and before anything is allocated.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            file_size = os.fstat(f.fileno()).st_size
            head = f.read(8)
            if len(head) != 8:
                raise TrainingError(f"{path.name} is not a safetensors file (too short).")
            size = int.from_bytes(head, "little")
            if size <= 0 or size > _MAX_HEADER or 8 + size > file_size:
                raise TrainingError(f"{path.name} is not a safetensors file (bad header length).")
            header_bytes = f.read(size)
    except FileNotFoundError as exc:
        raise TrainingError(f"{path} does not exist.") from exc
    except IsADirectoryError as exc:
        raise TrainingError(f"{path} is a directory, not a safetensors file.") from exc
    except OSError as exc:
        raise TrainingError(f"{path.name} cannot be read ({exc.strerror}).") from exc
    _library_check(path)
    try:
        header = boundedjson.loads(header_bytes, max_bytes=_MAX_HEADER, max_depth=_MAX_HEADER_DEPTH)
    except boundedjson.BoundedJSONError as exc:
        raise TrainingError(f"{path.name} is not a safetensors file (header: {exc}).") from None
    if not isinstance(header, dict):
        raise TrainingError(f"{path.name} is not a safetensors file.")
    data_start = 8 + size
    specs = []
    spans: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or entry.get("dtype") not in _SAFETENSORS_DTYPES:
            raise TrainingError(f"{path.name}: tensor {name!r} is not a float16/32/64 tensor.")
        shape = entry.get("shape")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise TrainingError(f"{path.name}: tensor {name!r} has a malformed shape.")
        dtype = _SAFETENSORS_DTYPES[entry["dtype"]]
        span = entry.get("data_offsets")
        if not isinstance(span, list) or len(span) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in span):
            raise TrainingError(f"{path.name}: tensor {name!r} has malformed data offsets.")
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize  # Python integers: no overflow
        if span[0] < 0 or span[1] - span[0] != nbytes:
            raise TrainingError(
                f"{path.name}: tensor {name!r} declares shape {shape} ({nbytes} bytes) but spans {span}: forged file."
            )
        specs.append(TensorSpec(name, tuple(shape), dtype))
        spans.append((span[0], span[1], name))
    if not specs:
        raise TrainingError(f"{path.name} holds no tensors.")
    expected = 0
    for begin, end, name in sorted(spans):
        if begin != expected:
            raise TrainingError(
                f"{path.name}: tensor {name!r} starts at {begin}, expected {expected} (overlapping or gapped offsets)."
            )
        expected = end
    if data_start + expected != file_size:
        raise TrainingError(
            f"{path.name}: its tensors end at byte {data_start + expected} but the file has {file_size} bytes."
        )
    offsets = {name: (data_start + begin, data_start + end) for begin, end, name in spans}
    return _Layout(tuple(sorted(specs, key=lambda t: t.name)), offsets)


def _library_check(path: Path) -> None:
    """Run the safetensors library's parser over the file (it validates the header against the file)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy"):
            pass
    except SafetensorError as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise TrainingError(f"{path.name} is not a valid safetensors file: {detail}.") from None
    except OSError as exc:
        raise TrainingError(f"{path.name} cannot be read ({exc.strerror}).") from None


def read_spec(path: Path) -> ModelSpec:
    """Read and check a safetensors header without loading tensors.

    Refuses any file that is not a well-formed safetensors file of float
    tensors (pickles, zip archives, ``.npy`` files all fail here).
    """
    return _read_layout(path).spec


def check_spec(actual: ModelSpec, expected: ModelSpec, *, what: str = "the contribution") -> None:
    """Raise TrainingError unless two specs name the same tensors with equal shapes and dtypes."""
    got = {s.name: s for s in actual}
    want = {s.name: s for s in expected}
    if got.keys() != want.keys():
        extra = sorted(got.keys() - want.keys())
        lacking = sorted(want.keys() - got.keys())
        raise TrainingError(
            f"{what} does not match the base model: unexpected tensors {extra or 'none'}, missing {lacking or 'none'}."
        )
    for name, spec in want.items():
        if got[name].shape != spec.shape:
            raise TrainingError(f"{what}: tensor {name!r} has shape {got[name].shape}, the base model {spec.shape}.")
        if got[name].dtype != spec.dtype:
            raise TrainingError(f"{what}: tensor {name!r} has dtype {got[name].dtype}, the base model {spec.dtype}.")


class SafetensorsModel:
    """A model file read tensor by tensor, or rows of a tensor, straight into NumPy buffers.

    Reads use ``os.preadv`` into caller-owned arrays (no mmap, no intermediate
    bytes): memory is what the caller allocates. Every :meth:`read` refuses
    NaN/inf; :meth:`read_into` leaves that check to the caller (aggregation
    checks its output once, then finds the culprit).
    """

    def __init__(self, path: Path, *, expected: ModelSpec | None = None) -> None:
        self.path = Path(path)
        layout = _read_layout(self.path)
        self.spec = layout.spec
        self._offsets = layout.offsets
        self._specs = {t.name: t for t in layout.spec}
        if expected is not None:
            check_spec(self.spec, expected, what=self.path.name)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.spec]

    def read(self, name: str) -> np.ndarray:
        """One tensor, writable, checked finite."""
        return self.read_rows(name, None, None)

    def read_rows(self, name: str, start: int | None, stop: int | None) -> np.ndarray:
        """Rows ``start:stop`` of a tensor along its first axis (whole tensor when both None), checked finite."""
        tensor = self._specs[name]
        if not tensor.shape:
            out = np.empty((), dtype=tensor.dtype)
        else:
            first, last, _ = slice(start, stop).indices(tensor.shape[0])
            out = np.empty((max(0, last - first), *tensor.shape[1:]), dtype=tensor.dtype)
        self.read_into(name, out, start or 0)
        check_finite(name, out)
        return out

    def read_into(self, name: str, out: np.ndarray, start_row: int = 0) -> np.ndarray:
        """Fill ``out`` (C-contiguous, the tensor's dtype) with rows from ``start_row``; no finiteness check."""
        tensor = self._specs[name]
        row = math.prod(tensor.shape[1:]) if tensor.shape else 1
        with self.element_reader() as read:
            read(name, out, start_row * row)
        return out

    @contextmanager
    def element_reader(self) -> Iterator[ElementReader]:
        """A reader of flat element ranges over one file descriptor, held open until the block ends.

        ``read(name, out, start)`` fills ``out`` (C-contiguous, the tensor's dtype) with elements
        ``start:start + out.size`` of the tensor in C order with ``os.preadv`` (no finiteness check).
        Raises TrainingError when the file is missing, unreadable or shorter than its header says.
        """
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise TrainingError(f"{self.path.name} cannot be read ({exc.strerror}).") from exc

        def read(name: str, out: np.ndarray, start: int) -> None:
            tensor = self._specs[name]
            if out.dtype != np.dtype(tensor.dtype) or not out.flags.c_contiguous:
                raise TrainingError(f"Internal: buffer for {name!r} must be C-contiguous {tensor.dtype}.")
            begin, end = self._offsets[name]
            offset = begin + start * out.dtype.itemsize
            if start < 0 or offset + out.nbytes > end:
                raise TrainingError(f"Internal: elements beyond the end of tensor {name!r}.")
            view = out.reshape(-1).view(np.uint8).data
            done = 0
            try:
                while done < out.nbytes:
                    n = os.preadv(fd, [view[done:]], offset + done)
                    if n <= 0:
                        raise TrainingError(f"{self.path.name} ended early while reading {name!r}: the file is truncated.")
                    done += n
            except OSError as exc:
                raise TrainingError(f"{self.path.name}: cannot read tensor {name!r} ({exc.strerror}).") from exc
            if out.dtype.byteorder == ">":  # pragma: no cover - safetensors is little-endian; NumPy native on our targets
                out.byteswap(inplace=True)

        try:
            yield read
        finally:
            os.close(fd)

    def load(self) -> Weights:
        """All tensors in memory."""
        return {name: self.read(name) for name in self.names}

    def tensors(self) -> Iterator[tuple[str, np.ndarray]]:
        for name in self.names:
            yield name, self.read(name)


def load_weights(path: Path, *, expected: ModelSpec | None = None) -> Weights:
    """Load a safetensors model, optionally checked against the base model's spec."""
    return SafetensorsModel(path, expected=expected).load()


def load_npz_weights(path: Path) -> Weights:
    """Load float arrays from an ``.npz`` archive with pickles refused."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            weights = {k: np.array(archive[k]) for k in archive.files}
    except ValueError as exc:
        raise TrainingError(f"{Path(path).name} holds pickled objects; refused.") from exc
    except (OSError, EOFError) as exc:
        raise TrainingError(f"{Path(path).name} is not a valid .npz archive ({exc}).") from exc
    for name, array in weights.items():
        if str(array.dtype) not in ALLOWED_DTYPES:
            raise TrainingError(f"{Path(path).name}: tensor {name!r} has dtype {array.dtype}; only floats are accepted.")
        check_finite(name, array)
    return weights


@dataclass(frozen=True)
class ResultFiles:
    """A contribution as received: the weights file and its parsed metrics."""

    weights: SafetensorsModel
    metrics: ContributionMetrics


def load_result(
    weights_path: Path,
    metrics: ContributionMetrics | str | bytes,
    *,
    base_spec: ModelSpec,
    base_digest: str | None = None,
) -> ResultFiles:
    """Open a contribution: check its metrics, its header against the base model and its base digest.

    Tensors are read later, one at a time; each read refuses NaN/inf.
    """
    parsed = metrics if isinstance(metrics, ContributionMetrics) else ContributionMetrics.from_json(metrics)
    if base_digest is not None and parsed.base_model_digest != base_digest:
        raise IntegrityError(
            "The contribution was trained from another base model (base_model_digest differs); reject it."
        )
    model = SafetensorsModel(Path(weights_path), expected=base_spec)
    return ResultFiles(model, parsed)


def load_result_dir(directory: Path, *, base_spec: ModelSpec, base_digest: str | None = None) -> ResultFiles:
    """Open a contributor's result directory: exactly ``weights.safetensors`` and ``metrics.json``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TrainingError(f"{directory} is not a result directory.")
    names = {p.name for p in directory.iterdir()}
    if names != {WEIGHTS_FILE, METRICS_FILE}:
        raise TrainingError(
            f"{directory.name} must hold exactly {WEIGHTS_FILE} and {METRICS_FILE}; found {sorted(names)}."
        )
    return load_result(
        directory / WEIGHTS_FILE,
        (directory / METRICS_FILE).read_bytes(),
        base_spec=base_spec,
        base_digest=base_digest,
    )


def write_result_dir(directory: Path, weights: Mapping[str, np.ndarray], metrics: ContributionMetrics) -> Path:
    """Write a result directory (used by bundles and tests)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_weights(directory / WEIGHTS_FILE, weights)
    (directory / METRICS_FILE).write_text(metrics.to_json())
    return directory
