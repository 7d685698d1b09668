"""Check that every committed lock still satisfies pyproject.toml.

Each lock in ``requirements/`` is the resolution of the base dependencies plus
some extras (see scripts/lock.sh). A lock goes stale when a range in
pyproject.toml changes and nobody reruns ``scripts/lock.sh``: then a declared
package is missing from the lock, or pinned outside its range. Exits 1 with
one line per problem. Offline: it reads the files only.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
#: lock file -> the extras resolved into it besides the base dependencies
LOCKS: dict[str, tuple[str, ...]] = {
    "base.lock": (),
    "test.lock": ("test",),
    "ml.lock": ("ml",),
    "dev.lock": ("ml", "test"),
    "lowest.lock": (),
}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s\\;]+)", re.MULTILINE)


def pinned(lock_text: str) -> dict[str, Version]:
    """``name==version`` lines of a requirements file, by canonical name."""
    return {canonicalize_name(name): Version(version) for name, version in _PIN.findall(lock_text)}


def problems(project: dict, lock_name: str, lock_text: str) -> list[str]:
    """What in ``lock_text`` contradicts the requirements of ``project`` for that lock's extras."""
    requirements = list(project.get("dependencies", []))
    for extra in LOCKS[lock_name]:
        requirements += project.get("optional-dependencies", {}).get(extra, [])
    pins = pinned(lock_text)
    found = []
    for line in requirements:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            found.append(f"requirements/{lock_name}: {requirement.name} is not in the lock (rerun scripts/lock.sh).")
        elif not requirement.specifier.contains(version, prereleases=True):
            found.append(
                f"requirements/{lock_name}: {requirement.name}=={version} is outside {requirement.specifier} "
                "(rerun scripts/lock.sh)."
            )
    return found


def main() -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = []
    for lock_name in LOCKS:
        path = ROOT / "requirements" / lock_name
        if not path.is_file():
            found.append(f"requirements/{lock_name} is missing (run scripts/lock.sh).")
            continue
        found += problems(project, lock_name, path.read_text())
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
