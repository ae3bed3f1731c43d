"""Small text rules shared by the domain: slugs, one-line text, VAT rates, no-break spaces."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_percent

_NON_WORD = re.compile(r"[^a-z0-9]+")
# Bidirectional overrides can disguise a name; line and paragraph separators
# break lines in some clients. Other format characters (e.g. ZWJ) are kept.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_MAX_NAME = 120
# What stays on one line: a number and its unit or its thousands ("100 g", "1 280 °C",
# "7,50 €", "48 h"), and French quotation marks and their words (« Puits du Dragon »).
_UNIT = re.compile(
    r"(?<=\d) (?=(?:\d{3}(?!\d)|(?:g|kg|mg|cl|ml|l|cm|mm|m|h|min|°C|°|€|%)(?![\w-])))"
)
_GUILLEMETS = re.compile(r"(?<=«) | (?=»)")


def slugify(text: str) -> str:
    """ASCII, lowercase, hyphen-separated: "Thés verts" -> "thes-verts"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_WORD.sub("-", ascii_text.lower()).strip("-")


def header_text(value: str, limit: int = _MAX_NAME) -> str:
    """``value`` fit for a header or a one-line field: no control characters or line breaks.

    Every control character, line or paragraph separator and bidi override
    becomes a space; runs of spaces collapse; the result is cut to ``limit``.
    """
    kept = "".join(" " if is_unsafe_char(char) else char for char in value)
    return " ".join(kept.split())[:limit].strip()


def format_rate(rate: Decimal, locale: str) -> str:
    """A VAT rate in percent as a locale writes it: ``5,5 %`` in French, ``5.5%`` in English.

    The digits are the rate's own (no rounding, no padding): ``Decimal("5.5")`` shows one
    decimal, ``Decimal("20")`` none.
    """
    return _format_rate(str(rate), locale)


@lru_cache(maxsize=256)
def _format_rate(rate: str, locale: str) -> str:
    # Keyed by the text, not the Decimal: 5.5 and 5.50 are equal but print differently.
    # Cached because babel's percent formatting is slow and a shop has few rates.
    return str(format_percent(Decimal(rate) / 100, locale=locale, decimal_quantization=False))


def is_unsafe_char(char: str) -> bool:
    """A control character, line or paragraph separator, or bidi override."""
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI


def join_units(text: str) -> str:
    """``text`` with no-break spaces where a line must not break: between numbers and their
    units (or thousands), and inside French quotation marks."""
    if " " not in text:
        return text
    return _GUILLEMETS.sub("\u00a0", _UNIT.sub("\u00a0", text))
