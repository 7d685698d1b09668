"""SS58 addresses to and from 32-byte public keys (account ids).

The format is Substrate's SS58 (base58 of prefix ‖ public key ‖ the first two
bytes of blake2b-512("SS58PRE" ‖ prefix ‖ public key)); the codec is
scalecodec's. ``SS58_FORMAT`` 42 is the generic Substrate prefix the dev node
and the pallet's runtime use.
"""

from __future__ import annotations

from decentralml.errors import UsageError

SS58_FORMAT = 42


def public_key_of(account: bytes | str, ss58_format: int | None = None) -> bytes:
    """The 32-byte public key of an account given as raw bytes, 0x hex or an SS58 address.

    With ``ss58_format`` an address of another prefix is refused. Raises
    :class:`~decentralml.errors.UsageError` for anything that is not 32 bytes.
    """
    if isinstance(account, (bytes, bytearray)):
        raw = bytes(account)
    else:
        text = account.strip()
        try:
            if text.lower().startswith("0x"):
                raw = bytes.fromhex(text[2:])
            else:
                from scalecodec.utils.ss58 import ss58_decode

                if not text:
                    raise ValueError("empty")
                raw = bytes.fromhex(ss58_decode(text, valid_ss58_format=ss58_format))
        except (ValueError, TypeError) as exc:
            raise UsageError(
                f"{account!r} is not an SS58 address or a 0x public key: {exc}.",
                hint="Copy the address again, e.g. from `decentralml account list`.",
            ) from None
    if len(raw) != 32:
        raise UsageError(f"{account!r} is not an account (32 bytes expected, got {len(raw)}).")
    return raw


def address_of(public_key: bytes, ss58_format: int = SS58_FORMAT) -> str:
    """The SS58 address of a 32-byte public key under ``ss58_format``."""
    from scalecodec.utils.ss58 import ss58_encode

    if len(public_key) != 32:
        raise UsageError(f"A public key is 32 bytes, not {len(public_key)}.")
    return ss58_encode(bytes(public_key), ss58_format)
