"""The exception tree of DecentralML.

Every failure a user can meet is a :class:`DecentralMLError`. Each subclass
carries the process exit code the CLI uses and a one-line message that says
what is wrong and what to do. Third-party exceptions (substrate-interface,
boto3, requests, ...) are translated into these at the adapter that calls the
library; nothing else in the code base should let them escape.

    DecentralMLError                exit 1   anything else we anticipated
    ├── UsageError                  exit 2   bad input: arguments, files, addresses, amounts
    ├── ConfigError                 exit 3   config file, keystore, missing signer
    ├── ChainError                  exit 4   the chain refused or failed a request
    │   ├── NodeUnreachableError    exit 5   no node answers at the URL
    │   ├── TransactionError        exit 6   the node refused a transaction (1010/1012, fees, nonce)
    │   └── DispatchError           exit 7   included but failed: a pallet error (its doc string)
    │       ├── NotFoundError       exit 8   unknown task or submission
    │       └── PermissionDeniedError  exit 9   not the creator / not the assigned worker
    ├── StorageError                exit 10  an artifact store failed
    │   ├── StorageUnreachableError exit 11  no store answers at the endpoint
    │   ├── ArtifactNotFoundError   exit 12  the object does not exist
    │   └── StorageAuthError        exit 13  credentials refused
    ├── IntegrityError              exit 14  a digest or signature does not match: never use the artifact
    ├── TrainingError               exit 15  a training, validation or aggregation step failed
    └── SandboxError                exit 16  a task's sandbox cannot be built (bubblewrap missing, bad bundle)
        └── TaskLimitError          exit 17  a sandboxed task hit a limit (time, memory, processes, output)

Messages and hints are made printable when the error is built: control
characters become visible escapes and credentials in URLs are redacted
(:mod:`decentralml.untrusted`), so no error can carry a chain string's escape
sequence or a node URL's password to a terminal or a ``--json`` error.
"""

from __future__ import annotations


class DecentralMLError(Exception):
    """Root of every error DecentralML raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.message)

    def __setattr__(self, name: str, value: object) -> None:
        if name in ("message", "hint") and isinstance(value, str):
            from decentralml.untrusted import printable

            value = printable(value)
        super().__setattr__(name, value)

    def one_line(self) -> str:
        """The message and the hint as one line for the terminal."""
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class UsageError(DecentralMLError):
    exit_code = 2


class ConfigError(DecentralMLError):
    exit_code = 3


class ChainError(DecentralMLError):
    exit_code = 4


class NodeUnreachableError(ChainError):
    exit_code = 5


class TransactionError(ChainError):
    exit_code = 6


class DispatchError(ChainError):
    """An extrinsic was included but its call failed.

    ``module`` and ``name`` identify the pallet error (``DecentralMLModule``,
    ``TaskFull``); the message is the error's doc string from the metadata.
    """

    exit_code = 7

    def __init__(
        self, message: str, *, module: str | None = None, name: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.module = module
        self.name = name


class NotFoundError(DispatchError):
    exit_code = 8


class PermissionDeniedError(DispatchError):
    exit_code = 9


class StorageError(DecentralMLError):
    exit_code = 10


class StorageUnreachableError(StorageError):
    exit_code = 11


class ArtifactNotFoundError(StorageError):
    exit_code = 12


class StorageAuthError(StorageError):
    exit_code = 13


class IntegrityError(DecentralMLError):
    exit_code = 14


class TrainingError(DecentralMLError):
    exit_code = 15


class SandboxError(DecentralMLError):
    exit_code = 16


class TaskLimitError(SandboxError):
    """A sandboxed task was stopped: ``limit`` is "time", "memory", "processes" or "output"."""

    exit_code = 17

    def __init__(self, message: str, *, limit: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.limit = limit
