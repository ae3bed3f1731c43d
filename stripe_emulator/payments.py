"""Stripe's test payment details and what each one does.

Cards settle at once (or are declined); SEPA Direct Debit is asynchronous:
the session completes unpaid and the payment succeeds or fails later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCS = "https://docs.stripe.com/testing"


@dataclass(frozen=True)
class CardResult:
    """The outcome of a test card: ``decline_code`` is None when it is approved."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    decline_code: str | None = None
    message: str | None = None

    @property
    def approved(self) -> bool:
        return self.decline_code is None


@dataclass(frozen=True)
class SepaResult:
    """A test IBAN: the debit is accepted now and ``succeeds`` (or not) later."""

    iban: str
    succeeds: bool

    @property
    def last4(self) -> str:
        return self.iban[-4:]

    @property
    def country(self) -> str:
        return self.iban[:2]

    @property
    def bank_code(self) -> str:
        return self.iban[4:12]


class PaymentDetailsError(ValueError):
    """The customer typed something unusable; ``field`` names the page input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# number -> (brand, decline_code, message)
TEST_CARDS: dict[str, tuple[str, str | None, str | None]] = {
    "4242424242424242": ("visa", None, None),
    "4000056655665556": ("visa", None, None),
    "5555555555554444": ("mastercard", None, None),
    "378282246310005": ("amex", None, None),
    "4000000000000002": ("visa", "generic_decline", "Your card was declined."),
    "4000000000009995": ("visa", "insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": ("visa", "lost_card", "Your card was declined."),
    "4000000000000069": ("visa", "expired_card", "Your card has expired."),
    "4000000000000127": ("visa", "incorrect_cvc", "Your card's security code is incorrect."),
    "4000000000000119": (
        "visa",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}

# IBAN -> succeeds later?
TEST_IBANS: dict[str, bool] = {
    "DE89370400440532013000": True,
    "DE62370400440532013001": False,
    "AT611904300234573201": True,
    "AT861904300235473202": False,
}

_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$")


def luhn_valid(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def check_card(number: str, expiry: str, cvc: str, *, year: int, month: int) -> CardResult:
    """Check a test card as the payment page would; ``year``/``month`` is today."""
    digits = re.sub(r"[\s-]", "", number)
    if not digits:
        raise PaymentDetailsError("card_number", "Your card number is incomplete.")
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn_valid(digits):
        raise PaymentDetailsError("card_number", "Your card number is invalid.")
    match = _EXPIRY.match(expiry)
    if match is None:
        raise PaymentDetailsError("card_expiry", "Your card's expiration date is incomplete.")
    exp_month, exp_year = int(match.group(1)), int(match.group(2))
    exp_year += 2000 if exp_year < 100 else 0
    if not 1 <= exp_month <= 12:
        raise PaymentDetailsError("card_expiry", "Your card's expiration month is invalid.")
    if (exp_year, exp_month) < (year, month):
        raise PaymentDetailsError("card_expiry", "Your card's expiration date is in the past.")
    if not re.fullmatch(r"\d{3,4}", cvc.strip()):
        raise PaymentDetailsError("card_cvc", "Your card's security code is incomplete.")
    known = TEST_CARDS.get(digits)
    if known is None:
        return CardResult(
            brand="unknown",
            last4=digits[-4:],
            exp_month=exp_month,
            exp_year=exp_year,
            decline_code="live_mode_test_card",
            message="Your card was declined. Your request was in test mode, but used a "
            f"non test card. For a list of valid test cards, visit: {DOCS}.",
        )
    brand, decline_code, message = known
    return CardResult(
        brand=brand,
        last4=digits[-4:],
        exp_month=exp_month,
        exp_year=exp_year,
        decline_code=decline_code,
        message=message,
    )


def iban_valid(iban: str) -> bool:
    """The ISO 13616 mod-97 check."""
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def check_iban(value: str) -> SepaResult:
    iban = re.sub(r"\s", "", value).upper()
    if not iban:
        raise PaymentDetailsError("iban", "Your IBAN is incomplete.")
    if not iban_valid(iban):
        raise PaymentDetailsError("iban", "Your IBAN is invalid.")
    if iban not in TEST_IBANS:
        raise PaymentDetailsError(
            "iban",
            f"Your request was in test mode, but used a non-test IBAN. For a list of test "
            f"IBANs, visit: {DOCS}.",
        )
    return SepaResult(iban=iban, succeeds=TEST_IBANS[iban])
