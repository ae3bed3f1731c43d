"""EU Omnibus price history (directive 2019/2161, art. 6a): a reduction shows the lowest
price of the 30 days before it started, and never claims a former price not charged then.

The history of each SKU is a list of ``PriceChange``: from its date on (the shop's time
zone), the SKU sold at ``price``, struck-through ``compare_at`` when reduced. It comes from
``content/prices.ledger`` (kept in git, so a shallow clone still has it) and from the git
history of the product files (``generator.price_history``). Pure: no git, no files.

Ledger lines: ``DATE  SKU  PRICE  [was COMPARE_AT]``, ``#`` starts a comment::

    2026-10-01  THE-SENCHA  12.45
    2026-11-20  THE-SENCHA  9.90  was 12.45
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from shop.money import Money, MoneyFormatError, parse_money
from shop.problems import Problems

LEDGER = "content/prices.ledger"
WINDOW = dt.timedelta(days=30)
HEADER = (
    "# Prices charged, one line per change: DATE  SKU  PRICE  [was COMPARE_AT].\n"
    "# Kept up to date by `comptoir check` and `comptoir build` from the git history of\n"
    "# content/products/; commit it: shallow clones (CI, Netlify) read the history here.\n"
)
_LINE = re.compile(r"(\S+)\s+(\S+)\s+(\S+)(?:\s+was\s+(\S+))?")


@dataclass(frozen=True, slots=True)
class PriceChange:
    date: dt.date
    sku: str
    price: Money
    compare_at: Money | None = None

    def line(self) -> str:
        was = f"  was {self.compare_at.to_text()}" if self.compare_at else ""
        return f"{self.date.isoformat()}  {self.sku}  {self.price.to_text()}{was}"


@dataclass(frozen=True, slots=True)
class Reduction:
    """A reduction running now: since when, and the prices charged in the 30 days before."""

    started: dt.date
    lowest: Money | None  # None: nothing was sold in the 30 days before
    highest: Money | None


def parse_ledger(text: str, currency: str, problems: Problems) -> list[PriceChange]:
    """The changes of a ledger's text; each bad line is a problem (and skipped)."""
    changes = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            problems.add(
                LEDGER,
                number,
                "cannot read this line: write DATE  SKU  PRICE, such as 2026-11-02  "
                "THE-SENCHA  12.45, and '  was 15.00' after a reduced price",
            )
            continue
        try:
            date = dt.date.fromisoformat(match[1])
        except ValueError:
            problems.add(LEDGER, number, f"'{match[1]}' is not a date: write it as 2026-11-02")
            continue
        try:
            price = parse_money(match[3], currency)
            was = parse_money(match[4], currency) if match[4] else None
        except MoneyFormatError as error:
            problems.add(LEDGER, number, str(error))
            continue
        changes.append(PriceChange(date, match[2], price, was))
    return changes


def format_ledger(changes: Iterable[PriceChange]) -> str:
    """The ledger's text: the header, then the changes by date and SKU."""
    ordered = sorted(changes, key=lambda c: (c.date, c.sku))
    return HEADER + "".join(change.line() + "\n" for change in ordered)


def histories(changes: Iterable[PriceChange]) -> dict[str, list[PriceChange]]:
    """Each SKU's changes by date (a stable sort: of one day, the later source wins), with
    repeats of the same price and former price dropped."""
    result: dict[str, list[PriceChange]] = {}
    for change in sorted(changes, key=lambda c: c.date):
        history = result.setdefault(change.sku, [])
        last = history[-1] if history else None
        if last is None or (last.price, last.compare_at) != (change.price, change.compare_at):
            history.append(change)
    return result


def reduction(history: list[PriceChange]) -> Reduction | None:
    """The reduction the last change of ``history`` shows, or None when it shows none.

    It started with the first of the changes that, up to now, all have a former price
    (a reduction deepened in steps keeps its start, as art. 6a(5) asks). The prices
    charged before it are those in force at some time of the 30 days before that day.
    """
    if not history or history[-1].compare_at is None:
        return None
    start = len(history) - 1
    while start > 0 and history[start - 1].compare_at is not None:
        start -= 1
    started = history[start].date
    before = history[:start]
    since = started - WINDOW
    charged = [c.price for c in before if c.date > since]
    earlier = [c for c in before if c.date <= since]
    if earlier:
        charged.append(earlier[-1].price)
    return Reduction(started, min(charged, default=None), max(charged, default=None))


def reduction_problem(sku: str, compare_at: Money, found: Reduction | None) -> str | None:
    """What is wrong with showing ``compare_at`` as the former price of ``sku``, or None."""
    if found is None:  # the current price is not known to be reduced: no claim to check
        return None
    if found.highest is None:
        return (
            f"'compare_at_price' {compare_at.to_text()} of {sku} was never charged: nothing "
            f"was sold in the 30 days before this reduction started ({found.started}). "
            "Remove compare_at_price, or sell at that price first (EU rule: a former price "
            "must have been charged in the 30 days before a reduction)"
        )
    if compare_at > found.highest:
        assert found.lowest is not None
        return (
            f"'compare_at_price' {compare_at.to_text()} of {sku} was never charged in the 30 "
            f"days before this reduction started ({found.started}): the lowest price then "
            f"was {found.lowest.to_text()}. Write compare_at_price: {found.lowest.to_text()}, "
            "or remove it (EU rule: the former price shown is the lowest of those 30 days)"
        )
    return None
