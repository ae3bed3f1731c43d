"""The expected dispatch date: lead times counted in shop days (Monday to Friday)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.dispatch import add_shop_days, expected_dispatch, is_shop_day, promised_dispatch
from shop.orders import OrderEvent, OrderStatus, decode_priced, encode_priced, priced_order
from shop.pricing import CartLine, quote_cart
from tests.store_contract import make_order
from tests.test_emails import example_shop

PARIS = "Europe/Paris"
days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1))
lead_times = st.integers(0, 400)
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


@given(days, lead_times)
def test_a_dispatch_is_never_on_a_weekend_nor_before_the_order(day: dt.date, lead: int) -> None:
    dispatch = add_shop_days(day, lead)
    assert is_shop_day(dispatch)
    assert dispatch >= day


@given(days, lead_times)
def test_a_dispatch_is_exactly_the_lead_time_in_shop_days_after_the_first_shop_day(
    day: dt.date, lead: int
) -> None:
    start = add_shop_days(day, 0)
    dispatch = add_shop_days(day, lead)
    between = [start + dt.timedelta(days=n) for n in range(1, (dispatch - start).days + 1)]
    assert sum(is_shop_day(d) for d in between) == lead


@given(days, lead_times, lead_times)
def test_a_longer_lead_time_dispatches_later(day: dt.date, a: int, b: int) -> None:
    assert (add_shop_days(day, a) < add_shop_days(day, b)) == (a < b)


@given(moments, st.lists(st.none() | lead_times, max_size=5))
def test_the_largest_lead_time_counts_and_none_adds_nothing(
    at: dt.datetime, leads: list[int | None]
) -> None:
    largest = max((lead or 0 for lead in leads), default=0)
    assert expected_dispatch(at, PARIS, leads) == expected_dispatch(at, PARIS, [largest])


@pytest.mark.parametrize(
    ("ordered", "lead", "dispatch"),
    [
        ("2026-09-14T10:00:00+00:00", 0, "2026-09-14"),  # Monday: the same day
        ("2026-09-14T10:00:00+00:00", 1, "2026-09-15"),
        ("2026-09-18T10:00:00+00:00", 1, "2026-09-21"),  # Friday + 1: Monday
        ("2026-09-19T10:00:00+00:00", 0, "2026-09-21"),  # Saturday: counts from Monday
        ("2026-09-19T10:00:00+00:00", 1, "2026-09-22"),
        ("2026-09-14T10:00:00+00:00", 10, "2026-09-28"),  # two weeks of shop days
        # 23:30 UTC on Friday is Saturday in Paris: the shop's day counts.
        ("2026-09-18T23:30:00+00:00", 0, "2026-09-21"),
    ],
)
def test_dispatch_dates_by_the_calendar(ordered: str, lead: int, dispatch: str) -> None:
    at = dt.datetime.fromisoformat(ordered)
    assert expected_dispatch(at, PARIS, [lead]) == dt.date.fromisoformat(dispatch)


def test_negative_lead_times_and_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_shop_days(dt.date(2026, 9, 14), -1)
    with pytest.raises(ValueError, match="naive"):
        expected_dispatch(dt.datetime(2026, 9, 14, 10), PARIS, [1])


def test_an_order_promises_a_date_only_when_a_line_has_a_lead_time() -> None:
    order = make_order()
    assert promised_dispatch(order, PARIS) is None
    first, *rest = order.priced.lines
    promised = dataclasses.replace(
        order,
        priced=dataclasses.replace(
            order.priced, lines=(dataclasses.replace(first, lead_time_days=3), *rest)
        ),
    )
    assert promised_dispatch(promised, PARIS) == expected_dispatch(order.created_at, PARIS, [3])


def test_checkout_keeps_each_products_lead_time_in_the_order() -> None:
    shop = example_shop()
    quote = quote_cart(
        shop.catalogue,
        shop.config,
        [CartLine("CER-KYUSU-CELADON", 1), CartLine("THE-ASSAM-50", 1)],
        country="FR",
        today=dt.date(2026, 9, 14),
    )
    assert [line.lead_time_days for line in quote.lines] == [10, None]
    priced = decode_priced(encode_priced(priced_order(quote)))
    assert [line.lead_time_days for line in priced.lines] == [10, None]


def test_a_late_payment_counts_from_the_day_it_cleared() -> None:
    placed = dt.datetime(2026, 9, 18, 10, tzinfo=dt.UTC)  # Friday
    cleared = dt.datetime(2026, 9, 22, 10, tzinfo=dt.UTC)  # the SEPA debit, on Tuesday
    order = make_order(created_at=placed)
    first, *rest = order.priced.lines
    order = dataclasses.replace(
        order,
        priced=dataclasses.replace(
            order.priced, lines=(dataclasses.replace(first, lead_time_days=2), *rest)
        ),
        history=(
            OrderEvent(placed, OrderStatus.PENDING, "checkout.session.completed"),
            OrderEvent(cleared, OrderStatus.PAID, "checkout.session.async_payment_succeeded"),
        ),
    )
    assert promised_dispatch(order, PARIS) == dt.date(2026, 9, 24)
