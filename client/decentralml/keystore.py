"""An encrypted local keystore: one JSON file per account, mode 0600.

The secret URI is encrypted with XSalsa20-Poly1305 (PyNaCl ``SecretBox``)
under a key derived from the password with argon2id, at libsodium's MODERATE
limits (3 passes, 256 MiB) for new files; each file records its own limits, so
files written with lower ones still open. New passwords have at least
:data:`MIN_PASSWORD_LENGTH` characters unless the caller allows shorter ones.
The public part (name, address, crypto type) is readable without the password.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from decentralml.config import CryptoType
from decentralml.errors import ConfigError, UsageError

FORMAT_VERSION = 1
MIN_PASSWORD_LENGTH = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KDF = nacl.pwhash.argon2id


@dataclass(frozen=True)
class KeystoreEntry:
    """The public part of one stored account."""

    name: str
    address: str
    crypto: CryptoType
    created_at: int
    path: Path


@dataclass(frozen=True)
class KdfParams:
    """argon2id cost parameters (stored in each file)."""

    opslimit: int = _KDF.OPSLIMIT_MODERATE
    memlimit: int = _KDF.MEMLIMIT_MODERATE


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _derive_key(password: str, salt: bytes, params: KdfParams) -> bytes:
    return _KDF.kdf(
        nacl.secret.SecretBox.KEY_SIZE, password.encode("utf-8"), salt, opslimit=params.opslimit, memlimit=params.memlimit
    )


def validate_name(name: str) -> str:
    """Account names: letters, digits, '.', '_' and '-', up to 64 characters."""
    if not _NAME.match(name):
        raise UsageError(
            f"{name!r} is not a valid account name.", hint="Use letters, digits, '.', '_' or '-' (max 64)."
        )
    return name


class Keystore:
    """The keystore directory (created 0700 on first write)."""

    def __init__(self, directory: Path, kdf: KdfParams | None = None) -> None:
        self.directory = directory
        self.kdf = kdf or KdfParams()

    def _path(self, name: str) -> Path:
        return self.directory / f"{validate_name(name)}.json"

    def add(
        self, name: str, suri: str, address: str, crypto: CryptoType, password: str, *, allow_short_password: bool = False
    ) -> KeystoreEntry:
        """Encrypt and store a secret URI; refuses to overwrite an account or a password under 8 characters."""
        if not password:
            raise UsageError("An empty password would leave the secret unprotected.", hint="Choose a password.")
        if len(password) < MIN_PASSWORD_LENGTH and not allow_short_password:
            raise UsageError(
                f"The password has {len(password)} characters; at least {MIN_PASSWORD_LENGTH} are needed.",
                hint="Choose a longer one (or pass --insecure-password for a throwaway test account).",
            )
        path = self._path(name)
        salt = nacl.utils.random(_KDF.SALTBYTES)
        box = nacl.secret.SecretBox(_derive_key(password, salt, self.kdf))
        sealed = box.encrypt(suri.encode("utf-8"))
        created = int(time.time())
        document = {
            "version": FORMAT_VERSION,
            "name": name,
            "address": address,
            "crypto": crypto.value,
            "created_at": created,
            "kdf": {"alg": "argon2id", "salt": _b64(salt), "opslimit": self.kdf.opslimit, "memlimit": self.kdf.memlimit},
            "cipher": "xsalsa20-poly1305",
            "sealed": _b64(bytes(sealed)),
        }
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise UsageError(
                f"An account named {name!r} already exists.", hint="Pick another name or remove the file first."
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
        os.chmod(path, 0o600)
        return KeystoreEntry(name, address, crypto, created, path)

    def _read(self, path: Path) -> dict:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"No account named {path.stem!r} in the keystore {self.directory}.",
                hint="See `decentralml account list`.",
            ) from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"The keystore file {path} cannot be read: {exc}.") from None
        if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
            raise ConfigError(f"The keystore file {path} has an unknown format.")
        return document

    def _entry(self, path: Path, document: dict) -> KeystoreEntry:
        try:
            return KeystoreEntry(
                name=str(document["name"]),
                address=str(document["address"]),
                crypto=CryptoType(document["crypto"]),
                created_at=int(document["created_at"]),
                path=path,
            )
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"The keystore file {path} is damaged ({exc}).") from None

    def get(self, name: str) -> KeystoreEntry:
        """The public part of one account."""
        path = self._path(name)
        return self._entry(path, self._read(path))

    def list(self) -> list[KeystoreEntry]:
        """Every account, sorted by name."""
        if not self.directory.is_dir():
            return []
        return [self._entry(p, self._read(p)) for p in sorted(self.directory.glob("*.json"))]

    def unlock(self, name: str, password: str) -> str:
        """Decrypt and return the account's secret URI."""
        path = self._path(name)
        document = self._read(path)
        try:
            kdf = document["kdf"]
            params = KdfParams(opslimit=int(kdf["opslimit"]), memlimit=int(kdf["memlimit"]))
            key = _derive_key(password, _unb64(kdf["salt"]), params)
            sealed = _unb64(document["sealed"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError(f"The keystore file {path} is damaged ({exc}).") from None
        try:
            return nacl.secret.SecretBox(key).decrypt(sealed).decode("utf-8")
        except nacl.exceptions.CryptoError:
            raise ConfigError(
                f"Wrong password for the account {name!r}.", hint="Check DECENTRALML_PASSWORD or retype it."
            ) from None
