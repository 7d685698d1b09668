"""A bundle's ``requirements.txt``, parsed strictly before pip sees it.

pip runs outside the sandbox, so the file is untrusted input to a program
that can execute code: ``--only-binary=:all:`` does not apply to local paths
or direct references (a local project's PEP 517 build backend would run on the
host), and a requirements file can carry its own options (another index,
``--no-binary``, nested ``-r`` files). Only lines that are a plain PEP 508
requirement without a URL — ``name[extras] specifier [; marker]`` — are
accepted, each optionally followed by ``--hash=ALGO:HEX`` options; comments
and blank lines are allowed. Anything else is refused before any process
starts. Parsing is done by ``packaging.requirements.Requirement`` (the parser
pip itself uses), not by our own grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement

from decentralml.errors import SandboxError
from decentralml.untrusted import printable

MAX_BYTES = 256 * 1024
MAX_LINES = 2000
_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's own comment rule (pip._internal.req.req_file.COMMENT_RE)
_HASH = re.compile(r"^(sha256|sha384|sha512):[0-9a-f]{64,128}$")
_HASH_OPTION = re.compile(r"\s+--hash(?:=|\s+)(\S+)")
_HINT = ("Only `name[extras] specifier [; marker]` lines (optionally with --hash=sha256:...) are accepted; "
         "ask the task's creator for a bundle that installs its packages from wheels by name.")


@dataclass(frozen=True)
class RequirementLine:
    """One accepted line: the normalised requirement and its ``--hash`` values (``ALGO:HEX``)."""

    requirement: str
    hashes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return " ".join([self.requirement, *(f"--hash={h}" for h in self.hashes)])


def _refuse(number: int, line: str, why: str) -> SandboxError:
    return SandboxError(
        f"requirements.txt line {number} ({printable(line[:200])!r}) is refused: {why}; nothing was installed or run.",
        hint=_HINT,
    )


def _why_not_plain(text: str) -> str:
    if text.startswith(("-e", "--editable")):
        return "an editable install"
    if text.startswith(("-r", "-c", "--requirement", "--constraint")):
        return "a nested requirements or constraints file"
    if text.startswith("-"):
        return "a pip option (indexes, build and install options are the contributor's choice, not the bundle's)"
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*\+[a-zA-Z]+://", text):
        return "a version-control URL"
    if "://" in text or text.startswith("file:"):
        return "a URL"
    if text.startswith((".", "/", "~")) or "/" in text or "\\" in text:
        return "a local path"
    return "not a plain `name[extras] specifier [; marker]` requirement"


def parse_requirements(data: bytes) -> tuple[RequirementLine, ...]:
    """The accepted lines of a ``requirements.txt`` body, in order.

    Raises SandboxError (exit 16) naming the first offending line for a local path, a URL or
    direct reference (``pkg @ URL``), a VCS URL, ``-e``, ``-r``/``-c``, any option line or
    per-requirement option other than ``--hash``, a line continuation, or a file over
    ``MAX_BYTES`` / ``MAX_LINES`` or not UTF-8.
    """
    if len(data) > MAX_BYTES:
        raise SandboxError(f"requirements.txt is over {MAX_BYTES // 1024} KiB; nothing was installed or run.", hint=_HINT)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SandboxError("requirements.txt is not UTF-8 text; nothing was installed or run.", hint=_HINT) from None
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise SandboxError(f"requirements.txt has over {MAX_LINES} lines; nothing was installed or run.", hint=_HINT)
    accepted: list[RequirementLine] = []
    for number, raw in enumerate(lines, start=1):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        if line.endswith("\\"):
            raise _refuse(number, raw, "a line continuation")
        if "${" in line or "$" in line:
            raise _refuse(number, raw, "an environment variable reference")
        hashes = tuple(match.group(1) for match in _HASH_OPTION.finditer(" " + line))
        body = _HASH_OPTION.sub("", " " + line).strip()
        if not body or body.startswith("-") or "--" in body:
            raise _refuse(number, raw, _why_not_plain(body or line))
        for value in hashes:
            if not _HASH.match(value):
                raise _refuse(number, raw, f"--hash={value} is not sha256/sha384/sha512:HEX")
        try:
            requirement = Requirement(body)
        except InvalidRequirement:
            raise _refuse(number, raw, _why_not_plain(body)) from None
        if requirement.url is not None:
            raise _refuse(number, raw, "a direct reference (`name @ URL`)")
        accepted.append(RequirementLine(str(requirement), hashes))
    if accepted and any(line.hashes for line in accepted) and not all(line.hashes for line in accepted):
        raise SandboxError("requirements.txt gives --hash for some requirements but not all; nothing was installed or run.",
                           hint="pip's hash-checking mode needs a hash on every line: ask the task's creator to fix the bundle.")
    return tuple(accepted)


def requirements_file_text(lines: tuple[RequirementLine, ...]) -> str:
    """The file pip is given: the accepted lines only, normalised, one per line."""
    return "".join(f"{line}\n" for line in lines)
