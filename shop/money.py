"""Money as integer minor units plus an ISO 4217 currency.

Amounts are parsed from the decimal text a merchant wrote and never pass
through a float. Formatting follows the shop's locale through babel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, list_currencies


class MoneyFormatError(ValueError):
    """A price text that cannot be read exactly; the message says how to fix it."""


@lru_cache(maxsize=64)
def currency_exponent(currency: str) -> int:
    """Number of decimals of a currency's minor unit (2 for EUR, 0 for JPY)."""
    return int(get_currency_precision(currency))


@lru_cache(maxsize=1)
def known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount in minor units (cents) of one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError(f"Money amount must be an int of minor units, got {self.amount!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if not isinstance(factor, int) or isinstance(factor, bool):
            raise TypeError("Money can only be multiplied by an int")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def to_decimal(self) -> Decimal:
        """The amount in major units, exactly (Decimal, never float)."""
        return Decimal(self.amount).scaleb(-currency_exponent(self.currency))

    def to_text(self) -> str:
        """Plain decimal text, e.g. "24.90", as in content files and JSON-LD."""
        exponent = currency_exponent(self.currency)
        return f"{self.to_decimal():.{exponent}f}"

    def format(self, locale: str) -> str:
        """Human display for a locale: ``24,90 €`` in French, ``€24.90`` in English."""
        return _format(self.amount, self.currency, locale)


@lru_cache(maxsize=16384)
def _format(amount: int, currency: str, locale: str) -> str:
    # Babel's formatting is slow and a shop shows the same few prices on many pages.
    money = Decimal(amount).scaleb(-currency_exponent(currency))
    return str(format_currency(money, currency, locale=_locale(locale)))


@lru_cache(maxsize=16)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


_AMOUNT = re.compile(r"(?P<units>\d+)(?:\.(?P<fraction>\d+))?")


def parse_money(text: str, currency: str) -> Money:
    """Read a price exactly from the text a merchant wrote ("24.90", "24.9", "24").

    Raises MoneyFormatError with a message that says how to fix the text.
    """
    raw = text.strip()
    exponent = currency_exponent(currency)
    example = "24.90" if exponent == 2 else ("24" if exponent == 0 else "24." + "9" * exponent)
    if not raw:
        raise MoneyFormatError(f"the price is empty: write an amount such as {example}")
    if raw.startswith("-"):
        raise MoneyFormatError(f"the price {raw} is negative: prices must be 0 or more")
    if "," in raw and _AMOUNT.fullmatch(raw.replace(",", ".", 1)):
        raise MoneyFormatError(
            f"the price {raw} uses a comma: write it with a dot, such as {raw.replace(',', '.')}"
        )
    match = _AMOUNT.fullmatch(raw)
    if match is None:
        raise MoneyFormatError(
            f"the price {raw!r} is not a decimal amount: write digits with an optional dot, "
            f"such as {example}"
        )
    fraction = match.group("fraction") or ""
    if len(fraction) > exponent:
        places = "no decimals" if exponent == 0 else f"at most {exponent} decimals"
        raise MoneyFormatError(f"the price {raw} has too many decimals: {currency} has {places}")
    minor = int(match.group("units")) * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
    return Money(minor, currency)
