"""Pure translation of chain failures into DecentralML errors.

* a failed dispatch (``System.ExtrinsicFailed``) -> :class:`DispatchError`, or
  :class:`NotFoundDispatchError` / :class:`PermissionDeniedDispatchError` for
  the pallet errors that mean "unknown id" / "not yours" (exit 8 / 9, as the
  same conditions found by a query or a pre-check); the message is the error's
  doc string;
* a JSON-RPC error from the transaction pool (1010 invalid, 1012 banned, ...)
  -> :class:`TransactionError` with a sentence a user can act on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from decentralml.chain.pallet import PALLET
from decentralml.errors import (
    DispatchError,
    NotFoundDispatchError,
    PermissionDeniedDispatchError,
    TransactionError,
)

NOT_FOUND_ERRORS = frozenset({"TaskNotFound", "SubmissionNotFound"})
PERMISSION_ERRORS = frozenset({"NotTaskCreator", "NotAssignedWorker", "CloseNotAllowed", "CreatorCannotAssign"})

# Non-pallet dispatch errors: (outer variant, inner) -> message.
_GENERIC_DISPATCH = {
    ("Token", "FundsUnavailable"): "Insufficient funds: the account cannot pay this amount. Top it up or lower the amount.",
    ("Token", "BelowMinimum"): "The amount would leave an account below the existential deposit. Send more.",
    ("Token", "CannotCreate"): "The receiving account cannot be created with this amount. Send at least the existential deposit.",
    ("Token", "NotExpendable"): "The transfer would kill the sending account. Keep the existential deposit.",
    ("Token", "Frozen"): "The funds are frozen.",
    ("Arithmetic", "Overflow"): "An amount is too large (arithmetic overflow). Lower it.",
    ("Arithmetic", "Underflow"): "Insufficient funds (arithmetic underflow). Top the account up or lower the amount.",
    ("BadOrigin", None): "The signer is not allowed to make this call.",
}

_POOL_CODES = {
    1001: "The node could not decode the transaction.",
    1002: "The node could not verify the transaction.",
    1011: "The node cannot tell whether the transaction is valid yet. Retry in a moment.",
    1012: "The node has banned this transaction for a while (it was already submitted). Check the chain before retrying.",
    1013: "The node already has this transaction in its pool. Wait for it to be included.",
    1014: "A transaction with the same nonce is already waiting with a higher priority. Wait and retry.",
    1016: "The node dropped the transaction immediately (its pool is full). Retry later.",
}

# Substrate's InvalidTransaction variants -> (the text a node puts in the 1010 error's 'data'
# field, sp_runtime's Display of the variant; advice). chopsticks puts the variant itself, as
# JSON, in 'message' instead: {"invalid":{"badProof":null}}.
_INVALID_TX: dict[str, tuple[str, str]] = {
    "payment": ("pay some fees", "Insufficient funds to pay the transaction fee. Top the account up (see `decentralml balance`)."),
    "stale": ("outdated", "The transaction's nonce is already used (stale). Retry: a fresh nonce will be taken."),
    "future": ("valid in the future", "The transaction's nonce is in the future. Wait for earlier transactions or retry."),
    "badProof": ("bad signature", "The transaction's signature is invalid: check --crypto and the secret."),
    "ancientBirthBlock": ("ancient birth block", "The transaction's era has expired. Retry."),
    "exhaustsResources": ("exhaust the block limits", "The block is full. Retry in a moment."),
    "badSigner": ("invalid signing address", "The node refused the signing address. Check --crypto and the secret."),
}


def _invalid_variant(message: str) -> str | None:
    """The InvalidTransaction variant of a chopsticks-style message (``{"invalid":{"stale":null}}``), else None."""
    if not message.startswith("{") or len(message) > 200:
        return None
    try:
        parsed = json.loads(message)
    except ValueError:
        return None
    if isinstance(parsed, dict) and isinstance(parsed.get("invalid"), dict) and len(parsed["invalid"]) == 1:
        return str(next(iter(parsed["invalid"])))
    return None


def _docs_text(docs: Sequence[str] | str | None) -> str:
    if docs is None:
        return ""
    if isinstance(docs, str):
        return docs.strip()
    return " ".join(line.strip() for line in docs if line.strip())


def dispatch_error(module: str | None, name: str, docs: Sequence[str] | str | None = None) -> DispatchError:
    """The exception for a failed dispatch ``module::name`` with its doc string."""
    text = _docs_text(docs) or f"The chain refused the call: {module or 'System'}.{name}."
    if module == PALLET and name in NOT_FOUND_ERRORS:
        return NotFoundDispatchError(text, module=module, name=name)
    if module == PALLET and name in PERMISSION_ERRORS:
        return PermissionDeniedDispatchError(text, module=module, name=name)
    return DispatchError(text, module=module, name=name)


def generic_dispatch_error(raw: Any) -> DispatchError:
    """A non-module DispatchError value (``"BadOrigin"``, ``{"Token": "FundsUnavailable"}``...)."""
    if isinstance(raw, Mapping) and len(raw) == 1:
        outer, inner = next(iter(raw.items()))
        inner_name = next(iter(inner)) if isinstance(inner, Mapping) and inner else inner
    else:
        outer, inner_name = str(raw), None
    key = (str(outer), str(inner_name) if inner_name is not None else None)
    message = _GENERIC_DISPATCH.get(key) or _GENERIC_DISPATCH.get((str(outer), None))
    name = f"{outer}.{inner_name}" if inner_name is not None else str(outer)
    return DispatchError(message or f"The chain refused the call: {name}.", module=None, name=name)


def rpc_transaction_error(error: Any) -> TransactionError:
    """A JSON-RPC error returned when submitting a transaction."""
    if isinstance(error, Mapping):
        code = error.get("code")
        message = str(error.get("message") or "")
        data = str(error.get("data") or "")
    else:
        code, message, data = None, str(error), ""
    if code == 1010:
        variant = _invalid_variant(message)
        if variant in _INVALID_TX:
            return TransactionError(_INVALID_TX[variant][1])
        lowered = f"{message} {data}".lower()
        for needle, advice in _INVALID_TX.values():
            if needle in lowered:
                return TransactionError(advice)
        return TransactionError(f"The node refused the transaction as invalid: {data or message}.")
    if isinstance(code, int) and code in _POOL_CODES:
        return TransactionError(_POOL_CODES[code])
    detail = "; ".join(part for part in (message, data) if part)
    return TransactionError(f"The node refused the transaction: {detail or error}.")
