"""Money is read exactly from text, never through a float, and formatted per locale."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.money import Money, MoneyFormatError, parse_money


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("24.90", 2490),
        ("24.9", 2490),
        ("24", 2400),
        ("0", 0),
        ("0.05", 5),
        ("1000000.01", 100000001),
    ],
)
def test_parses_decimal_text_exactly(text: str, cents: int) -> None:
    assert parse_money(text, "EUR") == Money(cents, "EUR")


@pytest.mark.parametrize(
    "text",
    [
        "24.999",
        "1e3",
        "12,5O",
        "-3",
        "",
        " ",
        ".5",
        "5.",
        "0x10",
        "12,50",
        "1_000",
        "€12",
        "12 €",
        "nan",
        "inf",
    ],
)
def test_rejects_inexact_or_odd_text(text: str) -> None:
    with pytest.raises(MoneyFormatError):
        parse_money(text, "EUR")


def test_zero_decimal_currency() -> None:
    assert parse_money("1500", "JPY") == Money(1500, "JPY")
    with pytest.raises(MoneyFormatError, match="no decimals"):
        parse_money("15.5", "JPY")


@given(st.integers(min_value=0, max_value=10**12))
def test_text_round_trip(cents: int) -> None:
    money = Money(cents, "EUR")
    assert parse_money(money.to_text(), "EUR") == money
    assert money.to_decimal() == Decimal(cents) / 100


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=99))
def test_two_spellings_of_one_price(units: int, cents: int) -> None:
    # "24.9" and "24.90" are the same price; so are "24" and "24.00".
    short = f"{units}.{cents:02d}".rstrip("0").rstrip(".")
    assert parse_money(short, "EUR") == parse_money(f"{units}.{cents:02d}", "EUR")


def test_locale_formatting() -> None:
    assert Money(2490, "EUR").format("fr_FR") == "24,90\xa0€"
    assert Money(2490, "EUR").format("en_IE") == "€24.90"
    assert Money(123456789, "EUR").format("fr_FR") == "1\u202f234\u202f567,89\xa0€"


def test_arithmetic_is_integer_and_currency_safe() -> None:
    assert Money(250, "EUR") * 3 + Money(1, "EUR") == Money(751, "EUR")
    with pytest.raises(ValueError, match="cannot combine"):
        _ = Money(1, "EUR") + Money(1, "USD")
    with pytest.raises(TypeError):
        Money(1.5, "EUR")  # type: ignore[arg-type]
