"""account new / import / list / inspect and signing with --account."""

import json
import os
import stat
from pathlib import Path

import pytest

from decentralml.config import CryptoType
from decentralml.keystore import Keystore
from tests.cli.conftest import ALICE, Cli, NodeCli

DEV = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"


def test_import_list_inspect(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECENTRALML_PASSWORD", "s3cret-password")
    imported = cli.json("--suri", "//Alice", "account", "import", "creator")
    assert imported["address"] == ALICE and "secret" not in imported
    path = cli.tmp / "data" / "keystore" / "creator.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "//Alice" not in path.read_text() and "s3cret-password" not in path.read_text()
    listed = cli.json("account", "list")
    assert [(a["name"], a["address"], a["crypto"]) for a in listed] == [("creator", ALICE, "sr25519")]
    inspected = cli.json("account", "inspect", "creator")
    assert inspected["public_key"].startswith("0x") and "secret" not in inspected
    assert cli.json("account", "inspect", "creator", "--show-secret")["secret"] == "//Alice"
    plain = cli("account", "inspect", "creator")
    assert "//Alice" not in plain.stdout + plain.stderr


def test_new_account_with_prompts(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("decentralml.cli.prompts.has_terminal", lambda: True)
    result = cli("account", "new", "worker", input="pw-12345678\npw-12345678\n")
    assert result.exit_code == 0, result.stderr
    address = result.stdout.strip()
    assert address.startswith("5")
    secret = cli("--json", "account", "inspect", "worker", "--show-secret", input="pw-12345678\n")
    assert secret.exit_code == 0, secret.stderr
    assert len(json.loads(secret.stdout)["secret"].split()) == 12


@pytest.mark.integration
def test_sign_with_keystore_account(node_cli: NodeCli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = node_cli
    monkeypatch.setenv("DECENTRALML_PASSWORD", "pw-12345678")
    cli.json("--suri", "//Alice", "account", "import", "creator")
    monkeypatch.delenv("DECENTRALML_SURI", raising=False)
    assert cli.json("--account", "creator", "balance")["address"] == ALICE
    closed = cli("--account", "creator", "close-task", "999999999")
    assert closed.exit_code == 8  # signed, then the chain found no task 999999999
    monkeypatch.setenv("DECENTRALML_PASSWORD", "wrong")
    wrong = cli("--account", "creator", "close-task", "999999999")
    assert wrong.exit_code == 3 and "Wrong password" in wrong.stderr
    assert cli("--account", "ghost", "close-task", "999999999").exit_code == 3


def test_account_errors(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECENTRALML_PASSWORD", "pw-12345678")
    assert cli("--suri", "//Alice", "account", "import", "bad/name").exit_code == 2
    cli.json("--suri", "//Alice", "account", "import", "a")
    dup = cli("--suri", "//Alice", "account", "import", "a")
    assert dup.exit_code == 2 and "already exists" in dup.stderr
    bad_secret = cli("--suri", "not a mnemonic at all", "account", "import", "b")
    assert bad_secret.exit_code == 2 and "not a mnemonic at all" not in bad_secret.stderr
    assert cli("account", "new", "c", "--words", "13").exit_code == 2
    monkeypatch.setenv("DECENTRALML_PASSWORD", "")
    assert cli("--suri", "//Alice", "account", "import", "d").exit_code == 2


def test_keystore_file_format(tmp_path) -> None:
    from decentralml.config import CryptoType

    store = Keystore(tmp_path / "ks")
    entry = store.add("x", DEV, "5addr", CryptoType.ED25519, "pw-12345678")
    document = json.loads(entry.path.read_text())
    assert document["kdf"]["alg"] == "argon2id" and document["cipher"] == "xsalsa20-poly1305"
    assert stat.S_IMODE(os.stat(tmp_path / "ks").st_mode) == 0o700
    assert store.unlock("x", "pw-12345678") == DEV
    assert store.get("x").crypto is CryptoType.ED25519


def test_inspect_without_password_shows_public_parts_only(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECENTRALML_PASSWORD", "pw-12345678")
    cli.json("--suri", "//Alice", "account", "import", "creator")
    monkeypatch.delenv("DECENTRALML_PASSWORD")
    data = cli.json("account", "inspect", "creator")
    assert data["public_key"] == "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
    wrong = cli("account", "inspect", "creator", "--show-secret", input="nope\n")
    assert wrong.exit_code == 3 and "//Alice" not in wrong.stdout + wrong.stderr


def test_short_password_refused_unless_insecure(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECENTRALML_PASSWORD", "1234567")
    refused = cli("account", "new", "short")
    assert refused.exit_code == 2 and "at least 8" in refused.stderr
    assert cli("account", "new", "short", "--insecure-password").exit_code == 0


def test_new_files_use_argon2id_moderate_and_old_interactive_files_still_open(tmp_path: Path) -> None:
    import nacl.pwhash

    from decentralml.keystore import KdfParams, Keystore

    new = Keystore(tmp_path).add("new", DEV, "5addr", CryptoType.SR25519, "long-password")
    kdf = json.loads(new.path.read_text())["kdf"]
    assert kdf["opslimit"] >= nacl.pwhash.argon2id.OPSLIMIT_MODERATE
    assert kdf["memlimit"] >= nacl.pwhash.argon2id.MEMLIMIT_MODERATE
    old = Keystore(tmp_path, KdfParams(nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE, nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE))
    old.add("old", DEV, "5addr", CryptoType.SR25519, "x", allow_short_password=True)
    assert Keystore(tmp_path).unlock("old", "x") == DEV


def test_suri_from_a_file_and_from_standard_input(cli: Cli, tmp_path: Path) -> None:
    secret = tmp_path / "suri"
    secret.write_text("//Alice\n")
    assert cli("--suri-file", str(secret), "--json", "account", "list").exit_code == 0
    import io

    from decentralml.config import read_suri

    assert read_suri(None, secret) == "//Alice"
    assert read_suri("-", None, io.StringIO("//Bob\nignored\n")) == "//Bob"
    assert read_suri("//Eve", None) == "//Eve"
    empty = tmp_path / "empty"
    empty.write_text("\n")
    result = cli("--suri-file", str(empty), "account", "list")
    assert result.exit_code == 3 and "No secret URI" in result.stderr
    both = cli("--suri", "//Alice", "--suri-file", str(secret), "account", "list")
    assert both.exit_code == 3


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_suri_file_readable_by_others_is_used_with_a_warning(cli: Cli, tmp_path: Path, mode: int) -> None:
    secret = tmp_path / "suri"
    secret.write_text("//Alice\n")
    secret.chmod(mode)
    result = cli("--suri-file", str(secret), "account", "list")
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and f"{mode:04o}" in warnings[0] and f"chmod 600 {secret}" in warnings[0]
    assert "//Alice" not in result.stderr


def test_private_suri_file_gives_no_warning(cli: Cli, tmp_path: Path) -> None:
    secret = tmp_path / "suri"
    secret.write_text("//Alice\n")
    secret.chmod(0o600)
    assert "Warning" not in cli("--suri-file", str(secret), "account", "list").stderr
    secret.chmod(0o400)
    assert "Warning" not in cli("--suri-file", str(secret), "account", "list").stderr


def test_warning_under_json_keeps_stderr_json(cli: Cli, tmp_path: Path) -> None:
    """Under --json a warning is a JSON line after the command's success, or part of its one error line."""
    secret = tmp_path / "suri"
    secret.write_text("//Alice\n")
    secret.chmod(0o644)
    done = cli("--json", "--suri-file", str(secret), "account", "list")
    assert done.exit_code == 0 and json.loads(done.stdout) == []
    (line,) = done.stderr.splitlines()
    assert f"chmod 600 {secret}" in json.loads(line)["warning"]["message"]

    failed = cli("--json", "--suri-file", str(secret), "--url", "ws://127.0.0.1:1", "balance")
    assert failed.exit_code == 5 and failed.stdout == ""
    (line,) = failed.stderr.splitlines()
    error = json.loads(line)["error"]
    assert error["exit_code"] == 5
    assert len(error["warnings"]) == 1 and "0644" in error["warnings"][0]


@pytest.mark.parametrize(
    ("argv", "needs"),
    [
        (["account", "new", "worker"], "DECENTRALML_PASSWORD"),
        (["account", "import", "imported"], "--suri-file"),
        (["--account", "signer", "transfer", ALICE, "1"], "DECENTRALML_PASSWORD"),
        (["account", "inspect", "signer", "--show-secret"], "DECENTRALML_PASSWORD"),
    ],
    ids=["new-password", "import-suri", "signer-password", "show-secret-password"],
)
def test_a_prompt_without_a_terminal_is_one_config_error_line(cli: Cli, argv: list[str], needs: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin not a terminal (CliRunner's, like a pipe or </dev/null): no prompt text, no echo warning, exit 3."""
    monkeypatch.setenv("DECENTRALML_PASSWORD", "pw-12345678")
    assert cli("--suri", "//Bob", "account", "import", "signer").exit_code == 0
    monkeypatch.delenv("DECENTRALML_PASSWORD")
    result = cli("--json", "--url", "ws://127.0.0.1:1", *argv, input="typed-into-a-pipe\n")
    assert result.exit_code == 3 and result.stdout == "", result.stderr
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "ConfigError"
    assert "no terminal to ask" in error["message"] and needs in error["hint"]
    assert "Password" not in result.stderr.split("{", 1)[0] and "echoed" not in result.stderr
    assert not (cli.tmp / "data" / "keystore" / "worker.json").exists()
