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
    [("not a mnemonic", CryptoType.SR25519), ("", CryptoType.SR25519), ("//Alice/soft", CryptoType.ED25519),
     ("//Alice/soft", CryptoType.ECDSA), ("0x1234", CryptoType.SR25519), 
     ("0x" + "00" * 32, CryptoType.ECDSA)],
)
def test_bad_secrets_are_usage_errors_without_echo(suri: str, crypto: CryptoType) -> None:
    with pytest.raises(UsageError, match="secret URI|mnemonic|hard junctions|hex seed|secp256k1") as info:
        keypair_from_suri(suri, crypto)
    if suri:
        assert suri not in info.value.one_line()


def test_validate_address() -> None:
    assert validate_address(" " + ALICE + " ") == ALICE
    for bad in ("5Grwva", "", ALICE[:-1] + "Z", "0x" + "00" * 32):
        with pytest.raises(UsageError, match="SS58 address"):
            validate_address(bad)


# Public keys and SS58 addresses printed by sp-core (polkadot-sdk stable2609,
# `ed25519::Pair::from_string` / `ecdsa::Pair::from_string`; ecdsa accounts are
# blake2-256 of the compressed key), i.e. what subkey prints.
SP_CORE_KEYS = [
    ("//Alice", "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee", "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu",
     "020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1", "5C7C2Z5sWbytvHpuLTvzKunnnRwQxft1jiqrLD5rhucQ5S9X"),
    ("//Bob", "d17c2d7823ebf260fd138f2d7e27d114c0145d968b5ff5006125f2414fadae69", "5GoNkf6WdbxCFnPdAnYYQyCjAKPJgLNxXwPjwTh6DGg6gN3E",
     "0390084fdbf27d2b79d26a4f13f0ccd982cb755a661969143c37cbc49ef5b91f27", "5DVskgSC9ncWQpxFMeUn45NU43RUq93ByEge6ApbnLk6BR9N"),
    ("//Alice//stash", "451781cd0c5504504f69ceec484cc66e4c22a2b6a9d20fb1a426d91ad074a2a8", "5DdJ9KX9gm9UvZpcpY6av29Q4uzbjuHdp5zEmV6FCh2FXiBc",
     "03c6a1c2194fa966d30bc4b9c4d5140e9a899d456372dae0e4ef230fd7d2197e72", "5CNog3FZ1ofBJQ4v4VWmruaLnoYeenobD88WRiT6ZvEXsvwF"),
    (DEV_PHRASE + "//Ferdie///pw", "f0268b8254e6227e238c6c690ee1cf348d66a9ac32b404db81dfa7837da677ba", "5HVaoLZGazyu5dm5ibKDHLWjje6BdSdpsfiVmWDZDKHnZoG1",
     "024b97736a44e6f6bc7eb9606275725f93f1c8b667aa972fff70adcf4adf2c518d", "5FsQJX5wXY8WyS82y96Bgtc2xJZryhex3vKMpeuPFSVyiGub"),
    ("//3", "1e56fc2e415072f21c90ba289b3197aedc7ff117d7acb5c7d3a4eb015b010962", "5CkV8husTTmxd1g9sNFvwdcexJUCiy4NDY4oRXWszGEaHjuq",
     "02f4f4d0eccb899bf2d611b56e0afec7c740efba404f8d0e82a545f988c45316c4", "5Fa7o1PBb86cqjCCWGAvbv8tDk7c6eA91rimswAZ9mfaVGGf"),
]


@pytest.mark.parametrize(("suri", "ed_public", "ed_address", "ec_public", "ec_address"), SP_CORE_KEYS, ids=lambda v: v[-12:])
def test_ed25519_and_ecdsa_hard_paths_match_sp_core(suri: str, ed_public: str, ed_address: str, ec_public: str, ec_address: str) -> None:
    ed = keypair_from_suri(suri, CryptoType.ED25519)
    assert (ed.public_key.hex(), ed.ss58_address) == (ed_public, ed_address)
    ec = keypair_from_suri(suri, CryptoType.ECDSA)
    assert (ec.compressed_public_key.hex(), ec.ss58_address) == (ec_public, ec_address)


def test_ecdsa_signature_matches_sp_core_and_verifies() -> None:
    alice = keypair_from_suri("//Alice", CryptoType.ECDSA)
    signature = alice.sign(b"hello")
    # sp-core: ecdsa::Pair::from_string("//Alice").sign(b"hello") (RFC 6979, low s)
    assert signature.hex() == (
        "cd5b21c12f1ac0d6c4539f182d1648e83cd0a8fb3eebcc90215abe050154e837"
        "3bead0079e94655a37a83e00213414a7cb15aafc84b360170296a06ae6c6232600"
    )
    assert alice.verify(b"hello", signature) and not alice.verify(b"hellO", signature)
    assert not keypair_from_suri("//Bob", CryptoType.ECDSA).verify(b"hello", signature)
