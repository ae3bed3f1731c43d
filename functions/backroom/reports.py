"""The business report: the orders, returns and stock the store holds, handed to the
pure computations of ``shop.reports``.

A report reads every order of its period (``ALL``: a small shop's history fits in
memory; the DynamoDB store pages through its date index, never scanning).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from functions.backroom.context import BackRoom, OperationError
from functions.store import OrderQuery
from shop.reports import Report, build_report

ALL = 1_000_000  # "every order": find_orders takes a limit


def shop_zone(room: BackRoom) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(room.shop().config.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def business_report(room: BackRoom, start: dt.date | None, end: dt.date | None) -> Report:
    """The report of the orders placed from ``start`` to ``end`` (days in the shop's zone,
    inclusive; None: open)."""
    if start and end and end < start:
        raise OperationError("bad_dates", f"--to {end} is before --from {start}: swap them")
    shop, zone = room.shop(), shop_zone(room)
    query = OrderQuery(
        created_from=None if start is None else _midnight(start, zone),
        created_before=None if end is None else _midnight(end + dt.timedelta(days=1), zone),
    )
    orders = room.store.find_orders(query, ALL)
    sessions = {order.session_id for order in orders}
    returned = {
        r.session_id for r in room.store.list_returns(limit=ALL) if r.session_id in sessions
    }
    levels = room.store.stock_levels(room.now())
    return build_report(
        orders,
        catalogue=shop.catalogue,
        available={level.sku: level.available for level in levels},
        returned=returned,
        zone=zone,
        currency=shop.config.currency,
        start=start,
        end=end,
    )


def _midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)
