"""A fixed directory tree whose pack digest is pinned: it must never change.

If PINNED_TREE_DIGEST ever differs, directories packed by older clients no
longer match their on-chain digests: fix the packer, do not re-pin.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

PINNED_TREE_DIGEST = "2ee496e25044b79eeee983a8c802d53685083a6cc3f077b938bb64258a1d464a"
PINNED_TREE_SIZE = 15872


def make_pinned_tree(root: Path) -> Path:
    """Nested directories, an empty file, an empty directory, Unicode and long names."""
    (root / "model" / "layers").mkdir(parents=True)
    (root / "empty-dir").mkdir()
    (root / "données").mkdir()
    (root / "README.md").write_bytes(b"# bundle\n")
    (root / "empty.bin").write_bytes(b"")
    (root / "model" / "config.json").write_bytes(b'{"layers": 3, "activation": "relu"}\n')
    (root / "model" / "layers" / "0.bin").write_bytes(bytes(range(256)) * 17)
    (root / "données" / "échantillon-名前.csv").write_bytes("a,b\n1,2\n".encode())
    (root / ("n" * 120 + ".txt")).write_bytes(b"long name\n")
    os.chmod(root / "README.md", 0o755)  # the execute bit is not part of the digest
    return root


def snapshot(root: Path) -> dict[str, str | None]:
    """Relative path -> SHA-256 of content (None for directories)."""
    out: dict[str, str | None] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = None if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out
