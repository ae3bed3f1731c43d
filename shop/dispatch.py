"""When an order is expected to leave the shop: its lines' lead times counted in shop days.

A product may declare ``lead_time_days`` (made to order, a supplier's delay): the number
of *shop days* between an order and its dispatch. Shop days are Monday to Friday; public
holidays are not known to comptoir and count as shop days (a merchant closed on one says
so in the lead time they declare). Days are the shop's: an order's day is the calendar day
in the shop's time zone (``timezone`` in shop.yaml) when it was placed.

An order placed on a shop day counts from that day, one placed on a Saturday or Sunday
from the next Monday; its expected dispatch date is that many shop days later, for the
largest lead time of its lines. A line without a lead time adds nothing: it leaves within
the shop's usual time, so an order of such lines only makes no dated promise
(``promised_dispatch`` is None).

Pure functions: the product page, the cart, the e-mails, the CLI and a supplier's
order all count the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from shop.orders import Order

_SATURDAY = 5  # date.weekday(): Monday is 0


def is_shop_day(day: dt.date) -> bool:
    """Monday to Friday (public holidays are not told apart)."""
    return day.weekday() < _SATURDAY


def first_shop_day(day: dt.date) -> dt.date:
    """``day`` itself on a shop day, else the Monday after it."""
    while not is_shop_day(day):
        day += dt.timedelta(days=1)
    return day


def add_shop_days(day: dt.date, days: int) -> dt.date:
    """The shop day ``days`` shop days after ``day`` (counted from its first shop day).

    Raises ValueError for a negative number of days.
    """
    if days < 0:
        raise ValueError(f"a lead time cannot be negative, got {days}")
    day = first_shop_day(day)
    weeks, rest = divmod(days, 5)
    day += dt.timedelta(weeks=weeks)
    for _ in range(rest):
        day = first_shop_day(day + dt.timedelta(days=1))
    return day


def expected_dispatch(
    ordered_at: dt.datetime, timezone: str | dt.tzinfo, lead_times: Iterable[int | None]
) -> dt.date:
    """The date an order placed at ``ordered_at`` (aware) should leave the shop.

    ``lead_times`` are its lines' lead times in shop days (None: no lead time, 0 extra
    days); the largest counts. ``timezone`` is the shop's ("Europe/Paris", or a tzinfo).
    Raises ValueError for a naive ``ordered_at`` or a negative lead time.
    """
    if ordered_at.utcoffset() is None:
        raise ValueError(f"naive datetime {ordered_at!r}: give the order's aware time")
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    day = ordered_at.astimezone(zone).date()
    return add_shop_days(day, max((days or 0 for days in lead_times), default=0))


def promised_dispatch(order: Order, timezone: str | dt.tzinfo) -> dt.date | None:
    """The dispatch date ``order`` was promised, or None when none of its lines has a
    lead time (it leaves within the shop's usual time, no date was stated).

    Counted from when the order became paid (``Order.confirmed_at``: a SEPA debit clears
    days after the order is placed; an oversold order counts from the merchant accepting
    it, when the shopper is told), with the lead times its lines had at checkout: a
    product's lead time changed later changes no promise made.
    """
    lead_times = [line.lead_time_days for line in order.priced.lines]
    if all(days is None for days in lead_times):
        return None
    return expected_dispatch(order.confirmed_at, timezone, lead_times)
