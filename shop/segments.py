"""Customer segments: buyers grouped by recency, frequency and monetary value (RFM).

For each buyer (an e-mail address, whatever its case) over all their paid orders
(``shop.reports.was_paid``):

- **R**ecency: days since their last order;
- **F**requency: how many orders they paid;
- **M**onetary: what they spent, refunds deducted (TTC).

Each buyer is in exactly one segment, the first of these that fits:

1. ``lost``: no order for more than ``LOST_AFTER_DAYS`` (365) days;
2. ``at_risk``: no order for more than ``ACTIVE_DAYS`` (180) days;
3. ``big_spender``: active, and their spend is in the top ``BIG_SPENDER_SHARE`` (20 %)
   of all buyers' (above the 80th percentile, nearest rank), when the shop has at
   least ``BIG_SPENDER_MIN_BUYERS`` (5) buyers;
4. ``loyal``: active, two orders or more;
5. ``new``: active, one order.

Why these thresholds. Recency in fixed days: the rhythm of a small shop's buyers (a
season, a year) is what a merchant reasons in, and a fixed window means a buyer's
segment does not change because *other* buyers came or went. Spend by the shop's own
quantile: amounts differ too much between shops (tea at 9 € and furniture at 900 €) for
any fixed amount to mean "big", while the top fifth of one's own buyers always does;
below five buyers a quantile picks out nobody meaningful, so there is no such segment.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from shop.money import Money
from shop.orders import Order
from shop.reports import was_paid

ACTIVE_DAYS = 180
LOST_AFTER_DAYS = 365
BIG_SPENDER_SHARE = 0.2
BIG_SPENDER_MIN_BUYERS = 5


class Segment(StrEnum):
    NEW = "new"
    LOYAL = "loyal"
    BIG_SPENDER = "big_spender"
    AT_RISK = "at_risk"
    LOST = "lost"


SEGMENT_ORDER = (Segment.NEW, Segment.LOYAL, Segment.BIG_SPENDER, Segment.AT_RISK, Segment.LOST)


@dataclass(frozen=True, slots=True)
class Buyer:
    email: str  # lower-cased
    name: str  # as on their latest order
    first_order: dt.datetime  # UTC
    last_order: dt.datetime
    orders: int  # F
    spent: Money  # M: charged less refunded, TTC
    recency_days: int  # R, as of the day scored
    segment: Segment


def segment_buyers(orders: Iterable[Order], now: dt.datetime, currency: str) -> list[Buyer]:
    """Every buyer of the paid ``orders`` (in ``currency``) with their segment as of
    ``now``, biggest spenders first."""
    found: dict[str, tuple[str, dt.datetime, dt.datetime, int, int]] = {}
    for order in sorted(orders, key=lambda o: o.created_at):
        email = order.email.strip().lower()
        if not email or order.currency != currency or not was_paid(order):
            continue
        spent = order.total.amount - order.refunded().amount
        before = found.get(email)
        if before is None:
            found[email] = (order.customer_name, order.created_at, order.created_at, 1, spent)
        else:
            name, first, _, count, total = before
            found[email] = (
                order.customer_name or name,
                first,
                order.created_at,
                count + 1,
                total + spent,
            )
    threshold = big_spender_threshold([total for *_, total in found.values()])
    buyers = []
    for email, (name, first, last, count, total) in found.items():
        recency = max((now - last).days, 0)
        buyers.append(
            Buyer(
                email,
                name,
                first,
                last,
                count,
                Money(total, currency),
                recency,
                score(recency, count, total, threshold),
            )
        )
    return sorted(buyers, key=lambda b: (-b.spent.amount, b.email))


def big_spender_threshold(spends: Sequence[int]) -> int | None:
    """The spend (minor units) above which a buyer is a big spender: the shop's
    ``1 - BIG_SPENDER_SHARE`` percentile, nearest rank; None below the minimum of buyers."""
    if len(spends) < BIG_SPENDER_MIN_BUYERS:
        return None
    ranked = sorted(spends)
    rank = math.ceil((1 - BIG_SPENDER_SHARE) * len(ranked))  # 1-based nearest rank
    return ranked[max(rank, 1) - 1]


def score(recency_days: int, orders: int, spent: int, big_from: int | None) -> Segment:
    """The segment of one buyer (the rules of the module's docstring, in their order)."""
    if recency_days > LOST_AFTER_DAYS:
        return Segment.LOST
    if recency_days > ACTIVE_DAYS:
        return Segment.AT_RISK
    if big_from is not None and spent > big_from:
        return Segment.BIG_SPENDER
    if orders >= 2:
        return Segment.LOYAL
    return Segment.NEW
