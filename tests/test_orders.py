"""Orders: the codec's exact round trip, the status table, the legacy readers, the presenter."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import cast

import pytest
from babel.dates import format_date
from hypothesis import given
from hypothesis import strategies as st

from functions.backroom import BackRoom, OperationError
from functions.backroom.orders import find_order
from functions.presenters import dispatch_display, order_page_json, order_view
from functions.settings import ShopSource
from functions.sqlite_store import SQLiteStore
from functions.store import StoreError
from shop.dispatch import expected_dispatch
from shop.money import Money
from shop.orders import (
    FORMAT,
    TRANSITIONS,
    Address,
    Delivery,
    InvalidTransition,
    LineQuantity,
    Order,
    OrderDiscount,
    OrderEvent,
    OrderFormatError,
    OrderLine,
    OrderStatus,
    PricedOrder,
    Refund,
    RefundState,
    Shipment,
    VatAmount,
    decode_order,
    decode_priced,
    encode_order,
    encode_priced,
)
from tests.store_contract import NOW, make_order, priced
from tests.test_emails import CREATED, english_order, french_order

CURRENCY = "EUR"
texts = st.text(max_size=40)
moneys = st.integers(min_value=-(10**12), max_value=10**12).map(lambda a: Money(a, CURRENCY))
rates = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)
lines = st.builds(
    OrderLine,
    texts,
    texts,
    st.integers(1, 99),
    moneys,
    moneys,
    moneys,
    rates,
    st.none() | st.integers(0, 365),
    st.none() | texts,  # the supplier
)
priced_orders = st.builds(
    PricedOrder,
    st.just(CURRENCY),
    st.tuples(lines, lines).map(tuple) | st.tuples(lines).map(tuple),
    moneys,
    st.lists(st.builds(OrderDiscount, texts, moneys, st.none() | texts), max_size=3).map(tuple),
    st.builds(Delivery, texts, texts, moneys, st.booleans()),
    st.lists(st.builds(VatAmount, rates, moneys, moneys), max_size=3).map(tuple),
    moneys,
    st.none() | texts,
)
orders = st.builds(
    Order,
    texts,
    texts,
    st.sampled_from(OrderStatus),
    moments,
    texts,
    texts,
    st.sampled_from(["fr", "en"]),
    priced_orders,
    st.none() | st.builds(Address, texts, texts, texts, texts, texts, texts),
    st.booleans(),
    st.lists(st.builds(OrderEvent, moments, st.sampled_from(OrderStatus), texts), max_size=3).map(
        tuple
    ),
    st.lists(
        st.builds(
            Shipment,
            st.integers(1, 9),
            moments,
            texts,
            texts,
            texts,
            st.lists(st.builds(LineQuantity, texts, st.integers(1, 99)), max_size=2).map(tuple),
            texts,
        ),
        max_size=2,
    ).map(tuple),
    st.lists(
        st.builds(
            Refund,
            texts,
            moneys,
            st.lists(st.builds(LineQuantity, texts, st.integers(1, 99)), max_size=2).map(tuple),
            st.booleans(),
            st.booleans(),
            st.sampled_from(RefundState),
            moments,
            texts,
            texts,
            st.none() | moments,
            texts,
        ),
        max_size=2,
    ).map(tuple),
)


# -- the codec ---------------------------------------------------------------------------


@given(orders)
def test_an_order_comes_back_exactly_through_json(order: Order) -> None:
    encoded = json.loads(json.dumps(encode_order(order)))
    assert decode_order(encoded) == order
    assert encoded["format"] == FORMAT


def test_an_order_without_shipments_or_refunds_encodes_as_before_they_existed() -> None:
    encoded = encode_order(make_order())
    assert "shipments" not in encoded and "refunds" not in encoded
    assert decode_order(encoded).shipments == () and decode_order(encoded).refunds == ()


def test_a_line_keeps_the_lead_time_it_was_bought_with_and_older_lines_read_without() -> None:
    order = make_order()
    promised = dataclasses.replace(
        order,
        priced=dataclasses.replace(
            order.priced, lines=(dataclasses.replace(order.priced.lines[0], lead_time_days=10),)
        ),
    )
    encoded = encode_order(promised)
    assert encoded["priced"]["lines"][0]["lead_time_days"] == 10
    assert decode_order(encoded) == promised
    # A line without a lead time is written as before lead times, and such lines read back.
    plain = encode_order(order)
    assert all("lead_time_days" not in line for line in plain["priced"]["lines"])
    assert [line.lead_time_days for line in decode_order(plain).priced.lines] == [None] * len(
        order.priced.lines
    )
    encoded["priced"]["lines"][0]["lead_time_days"] = -1
    with pytest.raises(OrderFormatError, match="negative"):
        decode_order(encoded)


def test_a_line_keeps_the_supplier_it_was_bought_from() -> None:
    """Recorded at checkout: a product whose supplier changes later changes no order."""
    order = make_order()
    line = dataclasses.replace(order.priced.lines[0], supplier="atelier-dupont")
    bought = dataclasses.replace(order, priced=dataclasses.replace(order.priced, lines=(line,)))
    encoded = encode_order(bought)
    assert encoded["priced"]["lines"][0]["supplier"] == "atelier-dupont"
    assert decode_order(encoded) == bought
    assert all("supplier" not in line for line in encode_order(order)["priced"]["lines"])


@given(priced_orders)
def test_a_priced_order_comes_back_exactly_through_json(value: PricedOrder) -> None:
    decoded = decode_priced(json.loads(json.dumps(encode_priced(value))))
    assert decoded == value
    # Rates keep their own digits: 5.5 stays 5.5, 20 stays 20 (they are printed as such).
    assert [str(line.tax_rate) for line in decoded.lines] == [
        str(line.tax_rate) for line in value.lines
    ]


def test_times_are_stored_in_utc_and_naive_ones_refused() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    encoded = encode_order(make_order(created_at=NOW.astimezone(paris)))
    assert encoded["created_at"] == "2026-03-01T12:00:00+00:00"
    with pytest.raises(ValueError, match="naive"):
        encode_order(make_order(created_at=NOW.replace(tzinfo=None)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 2}, "format 2"),
        ({"format": None}, "no format number"),
        ({"total": "24.00"}, "malformed"),
        ({"total": 24.0}, "malformed"),
        ({"total": True}, "malformed"),
        ({"lines": {}}, "malformed"),
        ({"delivery": {"label": "Colis"}}, "malformed"),
    ],
)
def test_a_priced_order_this_version_cannot_read_is_refused(
    change: dict[str, object], message: str
) -> None:
    encoded = {**encode_priced(priced()), **change}
    with pytest.raises(OrderFormatError, match=message):
        decode_priced(encoded)


def test_an_order_with_an_unknown_status_or_a_bad_rate_is_refused() -> None:
    encoded = encode_order(make_order())
    with pytest.raises(OrderFormatError):
        decode_order({**encoded, "status": "lost"})
    encoded["priced"]["vat"][0]["rate"] = "NaN"
    with pytest.raises(OrderFormatError):
        decode_order(encoded)


# -- the status table --------------------------------------------------------------------


@pytest.mark.parametrize("source", list(OrderStatus))
@pytest.mark.parametrize("target", list(OrderStatus))
def test_every_move_is_allowed_or_refused_per_the_table(
    source: OrderStatus, target: OrderStatus
) -> None:
    order = make_order(status=source)
    later = NOW + dt.timedelta(hours=1)
    if target == source:
        assert order.moved(target, "again", later) is order
    elif target in TRANSITIONS[source]:
        moved = order.moved(target, "move", later)
        assert (moved.status, moved.history) == (target, (OrderEvent(later, target, "move"),))
        assert dataclasses.replace(moved, status=source, history=()) == order
    else:
        with pytest.raises(InvalidTransition, match=f"{source} -> {target} is not allowed"):
            order.moved(target, "move", later)


def test_final_statuses_lead_nowhere() -> None:
    assert TRANSITIONS[OrderStatus.FAILED] == TRANSITIONS[OrderStatus.REFUNDED] == frozenset()
    assert set(TRANSITIONS) == set(OrderStatus)


# -- rows written before the codec --------------------------------------------------------

LEGACY_DATA = {
    "language": "fr",
    "lines": [
        {
            "sku": "THE-VERT",
            "title": "Thé vert « Sencha »",
            "quantity": 2,
            "unit_price": 1100,
            "discount": 0,
            "total": 2200,
            "tax_rate": "5.5",
        }
    ],
    "subtotal": 2200,
    "discounts": [{"label": "BIENVENUE", "amount": 200}],
    "shipping": {"label": "Colissimo", "amount": 400},
    "pickup": False,
    "vat": [{"rate": "5.5", "gross": 2000, "vat": 104}, {"rate": "20", "gross": 400, "vat": 67}],
    "total": 2400,
    "customer_name": "Léa Dupont",
    "shipping_address": {
        "name": "Léa Dupont",
        "line1": "12 rue des Écoles",
        "line2": "",
        "postal_code": "75005",
        "city": "Paris",
        "country": "FR",
    },
    "payment_status": "paid",
    "marketing_consent": False,
}


def money_json(amount: int) -> dict[str, object]:
    return {"amount": amount, "display": f"{amount / 100:.2f} €".replace(".", ",")}


LEGACY_QUOTE = {
    "currency": "EUR",
    "lines": [
        {
            "sku": "THE-VERT",
            "title": "Thé vert « Sencha »",
            "quantity": 2,
            "unit_price": money_json(1100),
            "subtotal": money_json(2200),
            "discount": money_json(0),
            "total": money_json(2200),
            "tax_rate": "5.5",
        }
    ],
    "subtotal": money_json(2200),
    "discounts": [{"label": "BIENVENUE", "code": "BIENVENUE", "amount": money_json(200)}],
    "goods_total": money_json(2000),
    "country": "FR",
    "shipping_options": [],
    "shipping": {"id": "colissimo", "name": "Colissimo", "price": money_json(400), "pickup": False},
    "vat": [
        {"rate": "5.5", "rate_display": "5,5 %", "gross": money_json(2000), "vat": money_json(104)},
        {"rate": "20", "rate_display": "20 %", "gross": money_json(400), "vat": money_json(67)},
    ],
    "total": money_json(2400),
    "promo_code": "BIENVENUE",
    "promo_rejection": None,
}


def test_the_sqlite_store_reads_rows_written_before_the_codec(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    with SQLiteStore(path) as store:
        store.sync_stock({})  # creates the schema, which the codec did not change
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO orders (session_id, number, status, created_at, currency, total, email,"
            " data) VALUES ('cs_test_1', 'CT-cs_test_1', 'pending', ?, 'EUR', 2400,"
            " 'lea@example.fr', ?)",
            (NOW.isoformat(timespec="microseconds"), json.dumps(LEGACY_DATA)),
        )
        conn.execute(
            "INSERT INTO order_events (session_id, at, status, note)"
            " VALUES ('cs_test_1', ?, 'pending', 'checkout.session.completed')",
            (NOW.isoformat(timespec="microseconds"),),
        )
        conn.execute(
            "INSERT INTO checkouts (session_id, hold_key, created_at, expires_at, quote)"
            " VALUES ('cs_test_2', 'hold_2', ?, ?, ?)",
            (
                NOW.isoformat(timespec="microseconds"),
                NOW.isoformat(timespec="microseconds"),
                json.dumps({"quote": LEGACY_QUOTE, "catalog_hash": "c0ffee"}),
            ),
        )
    expected = make_order(
        status=OrderStatus.PENDING,
        history=(OrderEvent(NOW, OrderStatus.PENDING, "checkout.session.completed"),),
    )
    # What the old rows did not keep comes back empty: the method id, the discount code.
    expected = dataclasses.replace(
        expected,
        priced=dataclasses.replace(
            expected.priced,
            delivery=dataclasses.replace(expected.priced.delivery, method=""),
            discounts=(OrderDiscount("BIENVENUE", Money(200, "EUR")),),
            promo_code=None,
        ),
    )
    with SQLiteStore(path) as store:
        assert store.get_order("cs_test_1") == expected
        assert store.list_orders() == [expected]
        checkout = store.get_checkout("cs_test_2")
        assert checkout is not None
        assert (checkout.priced, checkout.catalog_hash) == (priced(), "c0ffee")
        # A move rewrites the old order in the codec's format, history included.
        moved = store.set_order_status("cs_test_1", OrderStatus.PAID, "paid later", NOW)
        assert moved == expected.moved(OrderStatus.PAID, "paid later", NOW)
        assert store.get_order("cs_test_1") == moved
    with sqlite3.connect(path) as conn:
        (data,) = conn.execute("SELECT data FROM orders").fetchone()
    assert decode_order(json.loads(data)) == moved


def test_the_sqlite_store_refuses_an_order_from_a_newer_version(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    with SQLiteStore(path) as store:
        store.create_order(make_order())
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE orders SET data = json_set(data, '$.format', 99)")
    with SQLiteStore(path) as store, pytest.raises(StoreError, match="format 99"):
        store.get_order("cs_test_1")


# -- the presenter -----------------------------------------------------------------------


def test_the_view_formats_every_amount_once_in_its_locale() -> None:
    view = order_view(french_order(), "fr_FR")
    first, teapot = view.lines
    # "100 g" on one line, in the e-mails as on the order page.
    assert (first.title, first.quantity) == ("Sencha bio du Japon (100\xa0g)", 2)
    assert [str(first.unit_price), str(first.subtotal), str(first.total)] == [
        "12,45\xa0€",
        "24,90\xa0€",
        "22,41\xa0€",
    ]
    assert first.discount.deducted == "\u22122,49\xa0€" and bool(first.discount)
    assert not teapot.discount  # no discount on that line
    assert [(v.rate_display, v.vat.display) for v in view.vat] == [
        ("5,5\xa0%", "1,17\xa0€"),
        ("20\xa0%", "8,83\xa0€"),
    ]
    assert view.address == (
        "Marie Dupont",
        "8 place Bellecour",
        "Bâtiment B",
        "69002 Lyon",
        "France",
    )
    assert (view.paid, view.masked_email, view.total.display) == (
        True,
        "m•••@example.org",
        "75,36\xa0€",
    )
    assert not view.shipping.free


def test_the_view_of_a_pending_pickup_in_english() -> None:
    view = order_view(english_order(), "en_IE")
    assert (view.paid, view.pickup, view.address, view.shipping.free) == (False, True, (), True)
    assert view.total.display == "€24.90" and view.vat[0].rate_display == "5.5%"


def test_the_view_makes_every_text_one_line() -> None:
    french = french_order()
    line = dataclasses.replace(french.priced.lines[0], title="Thé\r\nvert\u202e")
    hostile = dataclasses.replace(
        french,
        customer_name="Eve\nBcc: x@evil.example",
        priced=dataclasses.replace(french.priced, lines=(line,)),
    )
    view = order_view(hostile, "fr_FR")
    assert view.lines[0].title == "Thé vert"
    assert view.customer_name == "Eve Bcc: x@evil.example"


# The address of french_order() on its order page: in full, or its area only.
FULL = {
    "lines": ["Marie Dupont", "8 place Bellecour", "Bâtiment B", "69002 Lyon", "France"],
    "complete": True,
}
AREA = {"lines": ["69002 Lyon", "France"], "complete": False}


def test_the_order_page_json_adds_up_and_masks_the_email() -> None:
    page = order_page_json(order_view(french_order(), "fr_FR"), CREATED + dt.timedelta(hours=1))
    assert set(page) == {
        "status", "number", "paid", "lines", "subtotal", "discounts", "shipping", "pickup",
        "vat", "total", "address", "dispatch", "email",
    }  # fmt: skip
    assert page["lines"][0] == {
        "title": "Sencha bio du Japon (100\xa0g)",  # on one line
        "quantity": 2,
        "unit_price": {"amount": 1245, "display": "12,45\xa0€"},
        "subtotal": {"amount": 2490, "display": "24,90\xa0€"},
        "discount": {"amount": 249, "display": "2,49\xa0€"},
        "total": {"amount": 2241, "display": "22,41\xa0€"},
    }
    assert page["discounts"] == [
        {
            "label": "Bienvenue -10\xa0% sur les thés",
            "amount": {"amount": 249, "display": "2,49\xa0€"},
        }
    ]
    assert page["shipping"] == {
        "label": "Colissimo suivi (48\xa0h)",
        "price": {"amount": 495, "display": "4,95\xa0€"},
    }
    assert page["vat"][0] == {
        "rate": "5.5",
        "rate_display": "5,5\xa0%",
        "vat": {"amount": 117, "display": "1,17\xa0€"},
    }
    subtotal = sum(line["subtotal"]["amount"] for line in page["lines"])
    assert subtotal - 249 + 495 == page["total"]["amount"] == 7536
    assert page["address"] == FULL
    assert "marie@" not in json.dumps(page) and page["email"] == "m•••@example.org"


@pytest.mark.parametrize(
    "status,after,shipped,shown",
    [
        (OrderStatus.PENDING, dt.timedelta(days=3), False, "full"),
        (OrderStatus.OVERSOLD, dt.timedelta(days=3), False, "full"),
        (OrderStatus.PAID, dt.timedelta(days=30), False, "full"),
        (OrderStatus.PAID, dt.timedelta(days=30, seconds=1), False, "area"),
        (OrderStatus.PARTIALLY_REFUNDED, dt.timedelta(days=1), False, "full"),
        (OrderStatus.PARTIALLY_REFUNDED, dt.timedelta(days=1), True, "area"),
        (OrderStatus.FULFILLED, dt.timedelta(days=1), True, "area"),
        (OrderStatus.FAILED, dt.timedelta(days=1), False, "area"),
        (OrderStatus.CANCELLED, dt.timedelta(days=1), False, "area"),
        (OrderStatus.REFUNDED, dt.timedelta(days=1), False, "area"),
    ],
)
def test_the_order_page_shows_the_full_address_while_it_can_be_corrected(
    status: OrderStatus, after: dt.timedelta, shipped: bool, shown: str
) -> None:
    order = french_order(status=status)
    if shipped:
        parcel = Shipment(1, CREATED, "colissimo", "6A1", "https://x.example/6A1", (), "test")
        order = dataclasses.replace(order, shipments=(parcel,))
    address = order_page_json(order_view(order, "fr_FR"), CREATED + after)["address"]
    assert address == {"full": FULL, "area": AREA}[shown]


def test_a_pickup_order_page_has_no_address() -> None:
    pickup = french_order()
    delivery = dataclasses.replace(pickup.priced.delivery, pickup=True)
    pickup = dataclasses.replace(
        pickup, priced=dataclasses.replace(pickup.priced, delivery=delivery)
    )
    assert order_page_json(order_view(pickup, "fr_FR"), CREATED)["address"] is None


def test_the_order_page_states_the_promised_dispatch_until_the_parcel_leaves() -> None:
    """The teapot's 10 shop days of lead time, counted from the payment, in the shop's
    language; none promised (None) when no line has a lead time, and none shown once the
    parcel has left or for an order not paid."""
    order = french_order(status=OrderStatus.PAID)
    lines = (order.priced.lines[0], dataclasses.replace(order.priced.lines[1], lead_time_days=10))
    timed = dataclasses.replace(order, priced=dataclasses.replace(order.priced, lines=lines))
    promised = dispatch_display(timed, "Europe/Paris", "fr_FR")
    expected = expected_dispatch(timed.created_at, "Europe/Paris", [None, 10])
    assert promised == format_date(expected, "full", locale="fr_FR")
    weekdays = {"lundi", "mardi", "mercredi", "jeudi", "vendredi"}
    assert promised is not None and promised.split()[0] in weekdays
    assert dispatch_display(order, "Europe/Paris", "fr_FR") is None
    page = order_page_json(order_view(timed, "fr_FR"), CREATED, promised)
    assert page["dispatch"] == promised
    parcel = Shipment(1, CREATED, "colissimo", "6A1", "https://x.example/6A1", (), "test")
    sent = dataclasses.replace(timed, shipments=(parcel,))
    assert order_page_json(order_view(sent, "fr_FR"), CREATED, promised)["dispatch"] is None
    for status in (OrderStatus.PENDING, OrderStatus.OVERSOLD, OrderStatus.FAILED):
        unconfirmed = dataclasses.replace(timed, status=status)  # nothing promised (yet)
        assert dispatch_display(unconfirmed, "Europe/Paris", "fr_FR") is None, status


def test_an_order_is_confirmed_when_it_last_became_paid() -> None:
    """A SEPA debit clearing, or the merchant accepting an oversold order: the dispatch
    date counts from then. A note, which keeps the status, is not a move."""
    at = [CREATED + dt.timedelta(days=n) for n in range(4)]
    placed = french_order(status=OrderStatus.PAID)
    assert placed.confirmed_at == placed.created_at  # no history: paid at once
    history = (
        OrderEvent(at[0], OrderStatus.PAID, "stripe checkout.session.completed"),
        OrderEvent(at[1], OrderStatus.OVERSOLD, "oversold: KYUSU-BRUN x1"),
        OrderEvent(at[2], OrderStatus.PAID, "accepted by the merchant"),
        OrderEvent(at[3], OrderStatus.PAID, "note: customer called"),
    )
    accepted = dataclasses.replace(placed, history=history)
    assert accepted.confirmed_at == at[2]
    assert dataclasses.replace(placed, history=history[:2]).confirmed_at == at[0]


def test_the_address_cut_down_never_shows_a_street_line() -> None:
    """Without postcode nor town, the part of the address shown later is the country alone:
    never the street lines above it."""
    order = french_order(status=OrderStatus.PAID)
    assert order.shipping_address is not None
    bare = dataclasses.replace(order.shipping_address, postal_code="", city="")
    order = dataclasses.replace(order, shipping_address=bare)
    parcel = Shipment(1, CREATED, "colissimo", "6A1", "https://x.example/6A1", (), "test")
    sent = dataclasses.replace(order, shipments=(parcel,))
    assert order_page_json(order_view(sent, "fr_FR"), CREATED)["address"] == {
        "lines": ["France"],
        "complete": False,
    }


def test_an_order_number_two_orders_share_asks_for_the_session(tmp_path: Path) -> None:
    """Numbers are short (a day and six characters): two orders may, rarely, share one."""
    number = "CT-20260301-ABC123"
    first = dataclasses.replace(make_order("cs_test_first"), number=number)
    second = dataclasses.replace(make_order("cs_test_second"), number=number)
    alone = dataclasses.replace(make_order("cs_test_alone"), number="CT-20260301-DEF456")
    with SQLiteStore(tmp_path / "store.sqlite3") as store:
        assert store.create_order(first) and store.create_order(second)
        assert store.create_order(alone)
        room = BackRoom(store, cast(ShopSource, None))  # finding an order needs no shop
        with pytest.raises(OperationError, match="name one by its checkout session id"):
            find_order(room, number)
        assert find_order(room, "cs_test_second") == second
        assert find_order(room, " ct-20260301-def456 ") == alone
