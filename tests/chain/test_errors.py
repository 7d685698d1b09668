"""Pure mapping of chain failures to DecentralML errors."""

import pytest

from decentralml.chain import errors as ce
from decentralml.errors import (
    DispatchError,
    NotFoundDispatchError,
    NotFoundError,
    PermissionDeniedDispatchError,
    PermissionDeniedError,
    PreconditionError,
    RefusedError,
    TransactionError,
)


@pytest.mark.parametrize(
    ("name", "cls", "code"),
    [
        ("TaskNotFound", NotFoundDispatchError, 8),
        ("SubmissionNotFound", NotFoundDispatchError, 8),
        ("NotTaskCreator", PermissionDeniedDispatchError, 9),
        ("NotAssignedWorker", PermissionDeniedDispatchError, 9),
        ("CloseNotAllowed", PermissionDeniedDispatchError, 9),
        ("CreatorCannotAssign", PermissionDeniedDispatchError, 9),
        ("NoFreeSlot", DispatchError, 7),
    ],
)
def test_pallet_errors_keep_their_doc_string(name: str, cls: type, code: int) -> None:
    exc = ce.dispatch_error("DecentralMLModule", name, ["The task has no free slot:", "wait for a rejection."])
    assert type(exc) is cls
    assert isinstance(exc, DispatchError), "an included call that failed is a DispatchError, whatever its condition"
    assert exc.exit_code == code
    assert exc.message == "The task has no free slot: wait for a rejection."
    assert (exc.module, exc.name) == ("DecentralMLModule", name)


@pytest.mark.parametrize(
    ("condition", "found_before_submitting", "found_by_the_pallet"),
    [
        (NotFoundError, NotFoundError("no task 3"), ce.dispatch_error("DecentralMLModule", "TaskNotFound")),
        (PermissionDeniedError, PermissionDeniedError("not yours"), ce.dispatch_error("DecentralMLModule", "NotTaskCreator")),
        (RefusedError, PreconditionError("task 3 is not open"), ce.dispatch_error("DecentralMLModule", "TaskNotOpen")),
    ],
)
def test_one_condition_has_one_exit_code_and_only_the_included_call_is_a_dispatch_error(
    condition: type, found_before_submitting: Exception, found_by_the_pallet: Exception
) -> None:
    assert isinstance(found_before_submitting, condition) and isinstance(found_by_the_pallet, condition)
    assert found_before_submitting.exit_code == found_by_the_pallet.exit_code == condition.exit_code
    assert not isinstance(found_before_submitting, DispatchError)
    assert isinstance(found_by_the_pallet, DispatchError)


def test_same_name_in_another_pallet_is_not_special() -> None:
    assert type(ce.dispatch_error("Other", "TaskNotFound", "x")) is DispatchError


def test_missing_docs_still_name_the_error() -> None:
    assert "Balances.InsufficientBalance" in ce.dispatch_error("Balances", "InsufficientBalance", []).message


def test_generic_dispatch_errors() -> None:
    funds = ce.generic_dispatch_error({"Token": "FundsUnavailable"})
    assert "Insufficient funds" in funds.message and funds.exit_code == 7
    assert "not allowed" in ce.generic_dispatch_error("BadOrigin").message
    assert "Weird.Thing" in ce.generic_dispatch_error({"Weird": "Thing"}).message


@pytest.mark.parametrize(
    ("error", "needle"),
    [
        ({"code": 1010, "message": "Invalid Transaction", "data": "Inability to pay some fees (e.g. account balance too low)"}, "Insufficient funds"),
        ({"code": 1010, "message": "Invalid Transaction", "data": "Transaction is outdated"}, "nonce"),
        ({"code": 1010, "message": "Invalid Transaction", "data": "Transaction has a bad signature"}, "signature"),
        ({"code": 1010, "message": "Invalid Transaction", "data": "Transaction will be valid in the future"}, "in the future"),
        ({"code": 1010, "message": "Invalid Transaction", "data": "Transaction has an ancient birth block"}, "era has expired"),
        ({"code": 1010, "message": "Invalid Transaction", "data": "Transaction would exhaust the block limits"}, "block is full"),
        ({"code": 1010, "message": "Invalid Transaction", "data": "Something new"}, "Something new"),
        # chopsticks: the variant as JSON in 'message', no 'data'
        ({"code": 1010, "message": '{"invalid":{"badProof":null}}'}, "signature is invalid"),
        ({"code": 1010, "message": '{"invalid":{"payment":null}}'}, "Insufficient funds"),
        ({"code": 1010, "message": '{"invalid":{"stale":null}}'}, "nonce is already used"),
        ({"code": 1010, "message": '{"invalid":{"future":null}}'}, "in the future"),
        ({"code": 1010, "message": '{"invalid":{"ancientBirthBlock":null}}'}, "era has expired"),
        ({"code": 1010, "message": '{"invalid":{"custom":7}}'}, '{"invalid":{"custom":7}}'),
        ({"code": 1010, "message": '{"invalid":'}, '{"invalid":'),
        ({"code": 1010, "message": '{"unknown":{"cannotLookup":null}}'}, "cannotLookup"),
        ({"code": 1012, "message": "Transaction is temporarily banned"}, "banned"),
        ({"code": 1013, "message": "Transaction Already Imported"}, "already"),
        ({"code": -32000, "message": "boom"}, "boom"),
        ("plain text", "plain text"),
    ],
)
def test_rpc_errors_are_readable(error: object, needle: str) -> None:
    exc = ce.rpc_transaction_error(error)
    assert isinstance(exc, TransactionError) and exc.exit_code == 6
    assert needle.lower() in exc.message.lower()
