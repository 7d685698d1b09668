"""The exception tree of DecentralML.

Every failure a user can meet is a :class:`DecentralMLError`. Each subclass
carries the process exit code the CLI uses and a one-line message that says
what is wrong and what to do. Third-party exceptions (substrate-interface,
boto3, requests, ...) are translated into these at the adapter that calls the
library; nothing else in the code base should let them escape.

The exit code follows the condition, not the path that found it: "task 7 is
not open" is exit 7 whether the client saw it before submitting
(:class:`PreconditionError`) or the pallet refused the included call
(:class:`DispatchError`); an unknown id is exit 8 and "not yours" exit 9
whether a query, a pre-check or the pallet found it. ``name`` is the pallet's
own error name when the condition is the pallet's (``TaskNotOpen``,
``NotAwaitingResult``, ...), so scripts can match on it either way. Only a
:class:`DispatchError` means a transaction was included (and its fee paid).

    DecentralMLError                exit 1   anything else we anticipated
    ├── UsageError                  exit 2   bad input: arguments, files, addresses, amounts
    ├── ConfigError                 exit 3   config file, keystore, missing signer, missing ml extra
    │   └── LocalPathError          exit 3   a local path cannot be created, written or read (file system)
    ├── ChainError                  exit 4   the chain refused or failed a request
    │   ├── NodeUnreachableError    exit 5   no node answers at the URL
    │   ├── TransactionError        exit 6   the node refused a transaction (1010/1012, fees, nonce)
    │   └── RefusedError            exit 7   the pallet's rules refuse the call (``module``, ``name``)
    │       ├── DispatchError       exit 7   included in a block, but the call failed (the error's doc string)
    │       ├── PreconditionError   exit 7   checked before submitting, so nothing was sent
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


class LocalPathError(ConfigError):
    """A local path (work, data, output or download directory) cannot be used: the message names the
    path and the file system's reason (``strerror``), the hint what to do."""


class ChainError(DecentralMLError):
    exit_code = 4


class NodeUnreachableError(ChainError):
    exit_code = 5


class TransactionError(ChainError):
    exit_code = 6


class RefusedError(ChainError):
    """The pallet's rules refuse a call.

    ``module`` and ``name`` identify the pallet error (``DecentralMLModule``,
    ``NoFreeSlot``) when the condition is one the pallet names, else ``None``.
    """

    exit_code = 7

    def __init__(
        self, message: str, *, module: str | None = None, name: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.module = module
        self.name = name


class DispatchError(RefusedError):
    """An extrinsic was included in a block but its call failed; the message is the error's doc string."""


class PreconditionError(RefusedError):
    """A check made before submitting failed: no transaction was sent."""


class NotFoundError(RefusedError):
    """No task or submission with this id."""

    exit_code = 8


class PermissionDeniedError(RefusedError):
    """The signer is not the task's creator or the submission's worker."""

    exit_code = 9


class NotFoundDispatchError(DispatchError, NotFoundError):
    """The included call failed because the id is unknown (``TaskNotFound``, ``SubmissionNotFound``)."""

    exit_code = 8


class PermissionDeniedDispatchError(DispatchError, PermissionDeniedError):
    """The included call failed because the signer is not allowed (``NotTaskCreator``, ...)."""

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
