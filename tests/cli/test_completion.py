"""Shell completion reaches the real commands behind the lazy stand-ins.

Driven as the shells drive it: Typer's completion classes read ``_DECENTRALML_COMPLETE``
(``complete_bash`` with ``COMP_WORDS``/``COMP_CWORD``, ``complete_zsh`` with
``_TYPER_COMPLETE_ARGS``) and print the candidates.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from decentralml.cli.app import app


def _bash(words: str) -> list[str]:
    """What bash completes for the command line ``words`` (its last word is the one being typed)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    result = CliRunner().invoke(app, [], prog_name="decentralml", env={
        "_DECENTRALML_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    assert result.exit_code == 0, result.output
    return result.stdout.split()


@pytest.mark.parametrize(("words", "expected"), [
    ("decentralml list-tasks --", {"--limit", "--offset", "--sort", "--all", "--mine"}),  # a lazy command's options
    ("decentralml list-tasks --so", {"--sort"}),
    ("decentralml list-tasks --sort ", {"newest", "oldest", "reward", "expires"}),  # an option's values
    ("decentralml split in", {"init-bundle"}),  # a group's subcommand
    ("decentralml split init-bundle out --pro", {"--protocol"}),  # a subcommand's option
    ("decentralml account ", {"new", "import", "list", "inspect"}),
    ("decentralml --json split ", {"prepare-data", "init-bundle", "contribute", "aggregate", "final", "verify"}),
    ("decentralml sh", {"show-task", "show-result"}),  # the command names themselves
])
def test_bash_completes_the_real_command(words: str, expected: set[str], isolated_env: Path) -> None:
    assert expected <= set(_bash(words)), _bash(words)


def test_the_options_of_one_command_are_not_another_s(isolated_env: Path) -> None:
    assert "--offset" not in _bash("decentralml show-task --")
    assert "--force" in _bash("decentralml split init-bundle out --fo")


def test_zsh_completes_a_group_s_subcommands(isolated_env: Path) -> None:
    result = CliRunner().invoke(app, [], prog_name="decentralml", env={
        "_DECENTRALML_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "decentralml split "})
    assert result.exit_code == 0 and "init-bundle" in result.stdout, result.stdout


def test_the_installed_command_completes(isolated_env: Path) -> None:
    """Through the console-script entry point, as `eval "$(decentralml --show-completion bash)"` runs it."""
    env = {**os.environ, "_DECENTRALML_COMPLETE": "complete_bash", "COMP_WORDS": "decentralml transfer --al",
           "COMP_CWORD": "2"}
    done = subprocess.run([sys.executable, "-c", "from decentralml.cli.app import main; main()"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split() == ["--allow-death"], (done.stdout, done.stderr)
