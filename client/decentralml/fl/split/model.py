"""Split networks: one ``nn.Sequential`` cut at a layer into a client and a server half.

A :class:`SplitSpec` is plain data (integers and strings, so it hashes
canonically into lineage). ``cut`` counts the modules that run on the
client: modules ``[0, cut)`` form the client half, ``[cut, n)`` the server
half. The unsplit network is ``client`` followed by ``server``; weights are
shared module objects, so training the halves trains the whole.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

from decentralml.errors import UsageError
from decentralml.primitives.scale import U32_MAX

ARCHITECTURES = ("mlp", "cnn")
#: The largest seed (a u32): NumPy's ``RandomState`` (the data split) takes ``0..2**32 - 1``, and the batch
#: order's generator seed, ``seed * 1_000_003 + epoch``, then stays within the u64 that torch takes.
MAX_SEED = U32_MAX


@dataclass(frozen=True)
class SplitSpec:
    """The architecture and where it is cut.

    ``mlp``: ``in_features`` inputs, ``hidden`` widths with ReLU, ``classes`` logits.
    ``cnn``: ``image_size`` square single-channel images, two conv blocks of
    ``hidden[0]`` and ``hidden[1]`` channels, a linear classifier.
    """

    arch: str
    in_features: int
    hidden: tuple[int, ...]
    classes: int
    cut: int
    seed: int = 0
    image_size: int = 0

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise UsageError(f"Unknown split architecture {self.arch!r}: use one of {', '.join(ARCHITECTURES)}.")
        if self.classes < 2 or any(h < 1 for h in self.hidden):
            raise UsageError("A split network needs at least 2 classes and positive layer widths.")
        if self.arch == "cnn" and (len(self.hidden) != 2 or self.image_size < 4 or self.image_size % 4):
            raise UsageError("The cnn architecture needs two channel counts and an image size divisible by 4.")
        if not 0 <= self.seed <= MAX_SEED:
            raise UsageError(f"The seed {self.seed} is not in 0..{MAX_SEED}.")
        total = module_count(self)
        if not 1 <= self.cut < total:
            raise UsageError(f"Cut layer {self.cut} must leave modules on both sides (1..{total - 1}).")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SplitSpec":
        try:
            return cls(
                arch=str(data["arch"]),
                in_features=int(data["in_features"]),
                hidden=tuple(int(h) for h in data["hidden"]),
                classes=int(data["classes"]),
                cut=int(data["cut"]),
                seed=int(data.get("seed", 0)),
                image_size=int(data.get("image_size", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"Split network spec is incomplete or malformed ({exc}): check the bundle's config.") from exc


def module_count(spec: SplitSpec) -> int:
    """How many modules the full network has (cut must lie strictly inside)."""
    if spec.arch == "mlp":
        return 2 * len(spec.hidden) + 1
    return 8


def build_network(spec: SplitSpec) -> Any:
    """The full network as ``nn.Sequential``, initialised deterministically from ``spec.seed``."""
    import torch
    from torch import nn

    generator_state = torch.random.get_rng_state()
    torch.manual_seed(spec.seed)
    try:
        layers: list[nn.Module] = []
        if spec.arch == "mlp":
            width = spec.in_features
            for hidden in spec.hidden:
                layers += [nn.Linear(width, hidden), nn.ReLU()]
                width = hidden
            layers.append(nn.Linear(width, spec.classes))
        else:
            c1, c2 = spec.hidden
            side = spec.image_size // 4
            layers = [
                nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(c2 * side * side, spec.classes),
            ]
        return nn.Sequential(*layers)
    finally:
        torch.random.set_rng_state(generator_state)


def split_network(network: Any, cut: int) -> tuple[Any, Any]:
    """``(client, server)`` halves sharing the modules (and weights) of ``network``."""
    from torch import nn

    modules = list(network.children())
    if not 1 <= cut < len(modules):
        raise UsageError(f"Cut layer {cut} must leave modules on both sides (1..{len(modules) - 1}).")
    return nn.Sequential(*modules[:cut]), nn.Sequential(*modules[cut:])


def build_halves(spec: SplitSpec) -> tuple[Any, Any]:
    """Fresh ``(client, server)`` halves for ``spec``."""
    return split_network(build_network(spec), spec.cut)
