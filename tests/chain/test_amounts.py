"""Amount parsing and formatting: exact integers, the documented rule."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from decentralml.amounts import U128_MAX, TokenInfo, format_amount, parse_amount
from decentralml.errors import UsageError

UNIT = TokenInfo(decimals=12, symbol="UNIT")


@pytest.mark.parametrize(
    ("text", "planck"),
    [
        ("10 UNIT", 10 * 10**12),
        ("10UNIT", 10 * 10**12),
        ("0.5 unit", 5 * 10**11),
        ("0.5", 5 * 10**11),
        (".25", 25 * 10**10),
        ("10", 10 * 10**12),
        ("5000planck", 5000),
        ("5000 planck", 5000),
        ("1_000 UNIT", 1000 * 10**12),
        ("0.000000000001", 1),
        ("  3  ", 3 * 10**12),
        ("0", 0),
    ],
)
def test_parse_examples(text: str, planck: int) -> None:
    assert parse_amount(text, UNIT) == planck


@pytest.mark.parametrize(
    "text",
    ["", "abc", "-1", "1e3", "0.0000000000001", "1.5planck", "10 DOT", "1__0", "1_", ".", str(U128_MAX + 1) + "planck", "1,5"],
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(UsageError, match="amount|Unknown unit|decimal places"):
        parse_amount(text, UNIT)


def test_format_examples() -> None:
    assert format_amount(0, UNIT) == "0 UNIT"
    assert format_amount(1, UNIT) == "0.000000000001 UNIT"
    assert format_amount(15 * 10**11, UNIT) == "1.5 UNIT"
    assert format_amount(10**12, UNIT, symbol=False) == "1"
    assert format_amount(-5 * 10**11, UNIT) == "-0.5 UNIT"


tokens = st.builds(TokenInfo, decimals=st.integers(0, 18), symbol=st.sampled_from(["UNIT", "DOT", "x"]))


@given(planck=st.integers(0, U128_MAX), token=tokens)
def test_format_then_parse_is_identity(planck: int, token: TokenInfo) -> None:
    assert parse_amount(format_amount(planck, token), token) == planck
    assert parse_amount(f"{planck}planck", token) == planck


@given(whole=st.integers(0, 10**9), frac=st.integers(0, 10**12 - 1))
def test_decimal_text_is_exact(whole: int, frac: int) -> None:
    text = f"{whole}.{str(frac).rjust(12, '0')}"
    assert parse_amount(text, UNIT) == whole * 10**12 + frac
