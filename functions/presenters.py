"""An order, display-ready: one ``OrderView`` read by the order page's JSON and the e-mails.

``order_view`` formats every amount and rate once, in one locale, and makes
every text one line (``header_text``), so what the shopper's page and the
e-mails show cannot drift apart. ``order_page_json`` is the order page's JSON
(``GET /api/orders/{id}``, read by theme/static/js/order.js).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date

from shop.dispatch import promised_dispatch
from shop.money import Money
from shop.orders import Address, Order, OrderLine, OrderStatus
from shop.text import format_rate, header_text, join_units

_MAX_ADDRESS = 254  # RFC 5321's limit on a forward path
_MAX_TITLE = 200

# The order page shows the delivery address to whoever holds its link. That link carries the
# checkout session's id, an unguessable key (Stripe's own success-page pattern shows the
# customer's details on it), and it travels in the confirmation e-mail, which holds the
# address anyway. The address is there for the shopper to check it while a mistake can still
# be put right: until the first parcel leaves, while the order is live (not failed, cancelled
# or refunded), and for 30 days at most. After that a link left in a browser's history or a
# forwarded e-mail shows postcode, town and country only: enough to recognise the order,
# nothing that finds a person. The e-mails keep the whole address for the shopper.
ADDRESS_SHOWN_FOR = dt.timedelta(days=30)
_ADDRESS_SHOWN_WHILE = frozenset(
    {OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.OVERSOLD, OrderStatus.PARTIALLY_REFUNDED}
)


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount and how the view's locale writes it; prints as its display, false if zero."""

    money: Money
    display: str  # "24,90 €"
    deducted: str  # as a deduction: "−24,90 €", with a typographic minus rather than "-"

    def __str__(self) -> str:
        return self.display

    def __bool__(self) -> bool:
        return self.money.amount != 0


@dataclass(frozen=True, slots=True)
class LineView:
    sku: str
    title: str
    quantity: int
    unit_price: Amount
    subtotal: Amount  # quantity × unit price
    discount: Amount  # false when there is none
    total: Amount  # after the discount
    lead_time_days: int | None = None  # shop days before dispatch, as promised at checkout


@dataclass(frozen=True, slots=True)
class DiscountView:
    label: str
    amount: Amount


@dataclass(frozen=True, slots=True)
class DeliveryView:
    label: str  # the method
    price: Amount
    pickup: bool

    @property
    def free(self) -> bool:
        return not self.price


@dataclass(frozen=True, slots=True)
class VatView:
    rate: Decimal  # percent
    rate_display: str  # "5,5 %"
    vat: Amount


@dataclass(frozen=True, slots=True)
class OrderView:
    """One order, display-ready: templates and the order page print these and compute nothing."""

    number: str
    status: OrderStatus
    paid: bool  # paid and not refunded or cancelled
    created_at: dt.datetime  # UTC
    customer_name: str
    customer_email: str
    masked_email: str  # "c•••@example.fr": for whoever holds the order page's link
    lines: tuple[LineView, ...]
    subtotal: Amount
    discounts: tuple[DiscountView, ...]
    shipping: DeliveryView
    pickup: bool
    vat: tuple[VatView, ...]
    total: Amount
    address: tuple[str, ...]  # the shipping address, one line each; () for a pickup
    address_area: tuple[str, ...]  # its postcode and town, and country; () for a pickup
    shipped: bool  # a parcel has left
    marketing_consent: bool


def order_view(order: Order, locale: str) -> OrderView:
    """``order`` as ``locale`` (a babel locale, e.g. "fr_FR") shows it."""
    priced = order.priced

    def amount(money: Money) -> Amount:
        return Amount(money, money.format(locale), (-money).format(locale).replace("-", "\u2212"))

    delivery = priced.delivery
    address = order.shipping_address
    address_lines = _address_lines(address, locale) if address and not delivery.pickup else ()
    return OrderView(
        number=header_text(order.number, limit=64),
        status=order.status,
        paid=order.status in (OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.OVERSOLD),
        created_at=order.created_at,
        customer_name=header_text(order.customer_name),
        customer_email=header_text(order.email, limit=_MAX_ADDRESS),
        masked_email=_mask(order.email),
        lines=tuple(
            LineView(
                sku=header_text(line.sku, limit=64),
                title=join_units(header_text(line.title, limit=_MAX_TITLE)),
                quantity=line.quantity,
                unit_price=amount(line.unit_price),
                subtotal=amount(line.subtotal),
                discount=amount(line.discount),
                total=amount(line.total),
                lead_time_days=line.lead_time_days,
            )
            for line in priced.lines
        ),
        subtotal=amount(priced.subtotal),
        discounts=tuple(
            DiscountView(join_units(header_text(d.label)), amount(d.amount))
            for d in priced.discounts
        ),
        shipping=DeliveryView(
            join_units(header_text(delivery.label)), amount(delivery.price), delivery.pickup
        ),
        pickup=delivery.pickup,
        vat=tuple(VatView(v.rate, format_rate(v.rate, locale), amount(v.vat)) for v in priced.vat),
        total=amount(priced.total),
        address=address_lines,
        address_area=_address_area(address, locale) if address_lines else (),
        shipped=bool(order.shipments),
        marketing_consent=order.marketing_consent,
    )


_CONFIRMED = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.FULFILLED)


def dispatch_display(
    order: Order,
    timezone: str | dt.tzinfo,
    locale: str,
    lines: Sequence[OrderLine] | None = None,
) -> str | None:
    """The dispatch date promised for ``order`` (of ``lines`` alone when given: a supplier's
    share), "lundi 28 septembre 2026". None when none is promised: no line has a lead time,
    or the order is not confirmed (pending, oversold, failed) or no longer (cancelled,
    refunded)."""
    if order.status not in _CONFIRMED:
        return None
    if lines is not None:
        order = replace(order, priced=replace(order.priced, lines=tuple(lines)))
    dispatch = promised_dispatch(order, timezone)
    return None if dispatch is None else format_date(dispatch, "full", locale=locale)


def order_page_json(
    view: OrderView, now: dt.datetime, dispatch: str | None = None
) -> dict[str, Any]:
    """What the order page prints, every amount formatted: lines (before discounts) add up
    to the subtotal; subtotal − discounts + shipping = total. The delivery address in full
    only while it may still need correcting (``ADDRESS_SHOWN_FOR``); the e-mail masked.
    Texts keep "48 h" or "100 g" on one line (``order_view`` joins them), as the cart shows
    them."""
    return {
        "status": view.status.value,
        "number": view.number,
        "paid": view.paid,
        "lines": [
            {
                "title": line.title,
                "quantity": line.quantity,
                "unit_price": _amount_json(line.unit_price),
                "subtotal": _amount_json(line.subtotal),
                "discount": _amount_json(line.discount),
                "total": _amount_json(line.total),
            }
            for line in view.lines
        ],
        "subtotal": _amount_json(view.subtotal),
        "discounts": [{"label": d.label, "amount": _amount_json(d.amount)} for d in view.discounts],
        "shipping": {
            "label": view.shipping.label,
            "price": _amount_json(view.shipping.price),
        },
        "pickup": view.pickup,
        "vat": [
            {"rate": str(v.rate), "rate_display": v.rate_display, "vat": _amount_json(v.vat)}
            for v in view.vat
        ],
        "total": _amount_json(view.total),
        "address": _page_address(view, now),
        # The date promised (``dispatch_display``), while the parcel has not left yet.
        "dispatch": dispatch if not view.shipped else None,
        "email": view.masked_email,
    }


def _page_address(view: OrderView, now: dt.datetime) -> dict[str, Any] | None:
    if not view.address:
        return None
    complete = (
        view.status in _ADDRESS_SHOWN_WHILE
        and not view.shipped
        and now - view.created_at <= ADDRESS_SHOWN_FOR
    )
    return {"lines": list(view.address if complete else view.address_area), "complete": complete}


def _amount_json(amount: Amount) -> dict[str, Any]:
    return {"amount": amount.money.amount, "display": amount.display}


def _address_lines(address: Address, locale: str) -> tuple[str, ...]:
    lines = (address.name, address.line1, address.line2, *_area(address, locale))
    return tuple(text for text in (header_text(line, limit=200) for line in lines) if text)


def _address_area(address: Address | None, locale: str) -> tuple[str, ...]:
    """Postcode and town, and country ("69001 Lyon", "France"): never a street line."""
    if address is None:
        return ()
    lines = (header_text(line, limit=200) for line in _area(address, locale))
    return tuple(text for text in lines if text)


def _area(address: Address, locale: str) -> tuple[str, str]:
    country = address.country.upper()
    return (
        f"{address.postal_code} {address.city}".strip(),
        Locale.parse(locale).territories.get(country, country),
    )


def _mask(email: str) -> str:
    """c•••@example.fr: enough for a shopper to recognise, not to harvest."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}•••@{domain}" if domain else ""
