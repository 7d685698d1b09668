"""Secret URIs and addresses."""

import pytest
from substrateinterface import Keypair, KeypairType
from substrateinterface.constants import DEV_PHRASE

from decentralml.chain.signer import keypair_from_suri, validate_address
from decentralml.config import CryptoType
from decentralml.errors import UsageError

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"


def test_dev_keys_match_subkey() -> None:
    assert keypair_from_suri("//Alice").ss58_address == ALICE
    assert keypair_from_suri("//Bob").ss58_address == "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"


@pytest.mark.parametrize("suri", [DEV_PHRASE, DEV_PHRASE + "//Alice/soft", "//Alice//stash"])
def test_mnemonic_paths_match_substrate_interface(suri: str) -> None:
    assert keypair_from_suri(suri).ss58_address == Keypair.create_from_uri(suri).ss58_address


def test_ed25519_and_hex_seed() -> None:
    ed = keypair_from_suri(DEV_PHRASE, CryptoType.ED25519)
    assert ed.ss58_address == Keypair.create_from_uri(DEV_PHRASE, crypto_type=KeypairType.ED25519).ss58_address
    seed = "0x" + "11" * 32
    assert keypair_from_suri(seed).public_key == Keypair.create_from_seed(seed).public_key


def test_password_changes_the_key() -> None:
    assert keypair_from_suri(DEV_PHRASE + "///pw").ss58_address != keypair_from_suri(DEV_PHRASE).ss58_address


@pytest.mark.parametrize(
    ("suri", "crypto"),
    [("not a mnemonic", CryptoType.SR25519), ("", CryptoType.SR25519), ("//Alice", CryptoType.ED25519),
     ("//Alice", CryptoType.ECDSA), ("0x1234", CryptoType.SR25519)],
)
def test_bad_secrets_are_usage_errors_without_echo(suri: str, crypto: CryptoType) -> None:
    with pytest.raises(UsageError) as info:
        keypair_from_suri(suri, crypto)
    if suri:
        assert suri not in info.value.one_line()


def test_validate_address() -> None:
    assert validate_address(" " + ALICE + " ") == ALICE
    for bad in ("5Grwva", "", ALICE[:-1] + "Z", "0x" + "00" * 32):
        with pytest.raises(UsageError):
            validate_address(bad)
