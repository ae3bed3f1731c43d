"""Orders: what a shopper bought, priced once at checkout, and where the order stands.

The priced content (lines, discounts, delivery, VAT, total) is taken from the
``Quote`` the shopper accepted (``priced_order``) and never recomputed; the
payment adds who bought and where it goes (``Order``). Statuses move only
along ``TRANSITIONS``, each move kept in the order's history.

``encode_priced``/``decode_priced`` and ``encode_order``/``decode_order`` are
the one codec between these values and plain JSON-able dicts, for every store:
the round trip is exact, and a ``format`` field makes a dict written by another
version either read or refused with ``OrderFormatError``. Shipments and refunds are
written only when an order has some, and a line's lead time only when it has one, so an
order without them encodes as it did before they existed, and such stored orders decode
unchanged. ``legacy_priced`` and
``legacy_order`` read what the version before this codec stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from shop.money import Money
from shop.pricing import Quote

T = TypeVar("T")
FORMAT = 1  # of encoded orders and priced orders; bump it, and read the old one, on a change


class OrderStatus(StrEnum):
    PENDING = "pending"  # paid by an asynchronous method that has not cleared yet
    PAID = "paid"
    FAILED = "failed"  # the asynchronous payment failed
    FULFILLED = "fulfilled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    CANCELLED = "cancelled"
    # Paid late, for units another shopper had bought meanwhile: refunded by the shop's
    # ``oversold`` policy, or waiting for the merchant (paid: ship anyway; or refund).
    OVERSOLD = "oversold"


# The allowed moves of an order; anything else is refused with InvalidTransition.
TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset(
        {
            OrderStatus.OVERSOLD,
            OrderStatus.FULFILLED,
            OrderStatus.REFUNDED,
            OrderStatus.PARTIALLY_REFUNDED,
            OrderStatus.CANCELLED,
        }
    ),
    OrderStatus.PARTIALLY_REFUNDED: frozenset(
        {OrderStatus.REFUNDED, OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED}
    ),
    OrderStatus.FULFILLED: frozenset({OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED}),
    OrderStatus.OVERSOLD: frozenset(
        {
            OrderStatus.PAID,
            OrderStatus.FULFILLED,
            OrderStatus.REFUNDED,
            OrderStatus.PARTIALLY_REFUNDED,
            OrderStatus.CANCELLED,
        }
    ),
    OrderStatus.FAILED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
    OrderStatus.CANCELLED: frozenset({OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED}),
}


class InvalidTransition(ValueError):
    """An order was asked to move to a status its current status does not allow."""


class OrderFormatError(ValueError):
    """A stored order or priced order that this version cannot read; says why."""


# -- values -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    title: str
    quantity: int
    unit_price: Money  # VAT included
    discount: Money  # this line's share of every discount
    total: Money  # unit price × quantity − discount
    tax_rate: Decimal  # percent, e.g. 5.5
    # The product's lead time when it was bought (shop days before dispatch, see
    # shop.dispatch); None: it leaves within the shop's usual time.
    lead_time_days: int | None = None
    # Who fulfilled the product when it was bought (a supplier id of shop.yaml); None: the
    # shop. Kept, not looked up: a product that changes supplier later changes no order.
    supplier: str | None = None

    @property
    def subtotal(self) -> Money:
        """Before discounts: unit price × quantity."""
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class OrderDiscount:
    label: str
    amount: Money
    code: str | None = None  # the promo code, or None for an automatic cart rule


@dataclass(frozen=True, slots=True)
class Delivery:
    method: str  # the shipping method's id in shop.yaml ("" in orders older than the codec)
    label: str  # the method's name
    price: Money
    pickup: bool


@dataclass(frozen=True, slots=True)
class VatAmount:
    rate: Decimal  # percent
    gross: Money  # VAT-inclusive amount taxed at this rate
    vat: Money


# An order its suppliers still have to supply: not cancelled, refunded or failed since
# they were queued its lines (a queued supplier order whose order left these is not sent).
STILL_TO_SUPPLY = frozenset(
    {OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED}
)


def not_to_supply(order: Order | None) -> str | None:
    """Why a supplier's order queued for ``order`` must no longer be sent (the order is
    gone, or was cancelled, refunded or failed since), or None: it still goes."""
    if order is None:
        return "the order is gone: not sent"
    if order.status not in STILL_TO_SUPPLY:
        return f"the order is {order.status.value}: not sent"
    return None


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    line1: str
    line2: str
    postal_code: str
    city: str
    country: str  # ISO alpha-2


@dataclass(frozen=True, slots=True)
class PricedOrder:
    """What the shopper accepted at checkout: the order's content and money, all of it."""

    currency: str
    lines: tuple[OrderLine, ...]
    subtotal: Money
    discounts: tuple[OrderDiscount, ...]
    delivery: Delivery
    vat: tuple[VatAmount, ...]
    total: Money  # as charged
    promo_code: str | None  # the accepted code, normalised


@dataclass(frozen=True, slots=True)
class OrderEvent:
    at: dt.datetime  # UTC
    status: OrderStatus
    note: str  # e.g. "checkout.session.completed evt_123"


@dataclass(frozen=True, slots=True)
class LineQuantity:
    """Some units of one of the order's SKUs (shipped, refunded, put back)."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Shipment:
    """A parcel sent: what was in it and how to follow it."""

    number: int  # 1, 2 … in the order's shipments
    at: dt.datetime  # UTC
    carrier: str  # the carrier's key in shop.yaml's ``carriers``
    tracking: str
    tracking_url: str
    lines: tuple[LineQuantity, ...]
    by: str  # who shipped it, e.g. "merchant via CLI"


class RefundState(StrEnum):
    REQUESTED = "requested"  # recorded, then asked of Stripe; its charge.refunded confirms it
    REFUNDED = "refunded"  # Stripe's charge.refunded counted it
    FAILED = "failed"  # Stripe refused it: nothing was refunded


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund of (part of) an order's payment, recorded before Stripe is asked.

    ``key`` is the idempotency key Stripe is given, so asking again refunds once.
    """

    key: str
    amount: Money
    lines: tuple[LineQuantity, ...]  # the units it pays back (none: an amount only)
    restock: bool  # ``lines`` go back on the shelf once refunded
    cancel: bool  # the refund of a cancellation: the order becomes cancelled
    state: RefundState
    requested_at: dt.datetime  # UTC
    requested_by: str  # e.g. "merchant via CLI"
    refund_id: str = ""  # Stripe's re_…, once it answered
    settled_at: dt.datetime | None = None  # when charge.refunded counted it (or it failed)
    settled_by: str = ""  # e.g. "stripe charge.refunded evt_…", or Stripe's refusal


@dataclass(frozen=True, slots=True)
class Order:
    """An order as recorded: everything needed to ship it, mail it and account for it."""

    session_id: str  # the Stripe checkout session: the order's idempotency key
    number: str  # shown to people, e.g. "CT-20260914-3FA2B1"
    status: OrderStatus
    created_at: dt.datetime  # UTC
    email: str
    customer_name: str
    language: str  # "fr" or "en": the language the shopper used
    priced: PricedOrder
    shipping_address: Address | None  # None for a pickup
    marketing_consent: bool
    history: tuple[OrderEvent, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    refunds: tuple[Refund, ...] = ()

    @property
    def confirmed_at(self) -> dt.datetime:
        """When the order last became paid: its payment, a SEPA debit clearing, or the
        merchant accepting it once oversold; what it promises counts from then. An event
        that keeps the status (a note) is not a move. Not paid yet: its creation."""
        moved, previous = None, None
        for event in self.history:
            if event.status == OrderStatus.PAID and previous != OrderStatus.PAID:
                moved = event.at
            previous = event.status
        return moved or self.created_at

    @property
    def currency(self) -> str:
        return self.priced.currency

    def ordered_quantities(self) -> dict[str, int]:
        return _add_up(LineQuantity(line.sku, line.quantity) for line in self.priced.lines)

    def shipped_quantities(self) -> dict[str, int]:
        return _add_up(line for shipment in self.shipments for line in shipment.lines)

    def refunded_quantities(self) -> dict[str, int]:
        """Units paid back or being paid back (refunds Stripe refused are not counted)."""
        live = (r for r in self.refunds if r.state != RefundState.FAILED)
        return _add_up(line for refund in live for line in refund.lines)

    def to_ship(self) -> dict[str, int]:
        """Units still to send: ordered, less shipped, less refunded (never sent)."""
        shipped, refunded = self.shipped_quantities(), self.refunded_quantities()
        left = {
            sku: quantity - shipped.get(sku, 0) - refunded.get(sku, 0)
            for sku, quantity in self.ordered_quantities().items()
        }
        return {sku: quantity for sku, quantity in left.items() if quantity > 0}

    def refundable(self) -> Money:
        """What can still be refunded: the total less every refund not refused."""
        asked = sum(r.amount.amount for r in self.refunds if r.state != RefundState.FAILED)
        return Money(max(self.total.amount - asked, 0), self.currency)

    def refunded(self) -> Money:
        """What Stripe confirmed refunding."""
        done = sum(r.amount.amount for r in self.refunds if r.state == RefundState.REFUNDED)
        return Money(done, self.currency)

    def noted(self, note: str, at: dt.datetime) -> Order:
        """This order with ``note`` added to its history, its status unchanged."""
        return replace(self, history=(*self.history, OrderEvent(at, self.status, note)))

    @property
    def total(self) -> Money:
        return self.priced.total

    def moved(self, status: OrderStatus, note: str, at: dt.datetime) -> Order:
        """This order in ``status``, the move added to its history.

        The status it already has is no move (this very order comes back); a move
        TRANSITIONS does not allow raises InvalidTransition.
        """
        if status == self.status:
            return self
        if status not in TRANSITIONS[self.status]:
            raise InvalidTransition(
                f"order {self.number}: {self.status} -> {status} is not allowed"
            )
        return replace(self, status=status, history=(*self.history, OrderEvent(at, status, note)))


def _add_up(lines: Iterable[LineQuantity]) -> dict[str, int]:
    total: dict[str, int] = {}
    for line in lines:
        total[line.sku] = total.get(line.sku, 0) + line.quantity
    return total


def priced_order(quote: Quote) -> PricedOrder:
    """The priced content of an order from the quote a checkout accepted.

    Raises ValueError for a quote without a delivery method (checkout refuses those).
    """
    if quote.shipping is None:
        raise ValueError("a quote without a delivery method cannot become an order")
    shipping = quote.shipping
    return PricedOrder(
        currency=quote.currency,
        lines=tuple(
            OrderLine(
                sku=line.sku,
                title=line.title,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                total=line.total,
                tax_rate=line.tax_rate,
                lead_time_days=line.lead_time_days,
                supplier=line.supplier,
            )
            for line in quote.lines
        ),
        subtotal=quote.subtotal,
        discounts=tuple(OrderDiscount(d.label, d.amount, d.code) for d in quote.discounts),
        delivery=Delivery(shipping.method_id, shipping.name, shipping.price, shipping.pickup),
        vat=tuple(VatAmount(v.rate, v.gross, v.vat) for v in quote.vat),
        total=quote.total,
        promo_code=quote.promo_code,
    )


# -- the codec ------------------------------------------------------------------------
# Money is written as integer minor units beside the one currency of the order, rates
# and times as text: every value comes back exactly, and the JSON stays readable.


def encode_priced(priced: PricedOrder) -> dict[str, Any]:
    """``priced`` as a JSON-able dict that ``decode_priced`` reads back exactly."""
    return {"format": FORMAT, **_priced_fields(priced)}


def decode_priced(data: Mapping[str, Any]) -> PricedOrder:
    """The priced order ``encode_priced`` wrote; raises OrderFormatError otherwise."""
    _check_format(data, "priced order")
    return _read("priced order", _priced, data)


def encode_order(order: Order) -> dict[str, Any]:
    """``order`` (status and history included) as a JSON-able dict for ``decode_order``.

    Times are written in UTC (the same instant comes back); naive ones raise ValueError.
    """
    address = order.shipping_address
    encoded: dict[str, Any] = {
        "format": FORMAT,
        "session_id": order.session_id,
        "number": order.number,
        "status": order.status.value,
        "created_at": _moment_text(order.created_at),
        "email": order.email,
        "customer_name": order.customer_name,
        "language": order.language,
        "priced": _priced_fields(order.priced),
        "shipping_address": None if address is None else address_fields(address),
        "marketing_consent": order.marketing_consent,
        "history": [
            {"at": _moment_text(e.at), "status": e.status.value, "note": e.note}
            for e in order.history
        ],
    }
    # Only when there are some: an order without them stays as it was encoded before.
    if order.shipments:
        encoded["shipments"] = [_shipment_fields(s) for s in order.shipments]
    if order.refunds:
        encoded["refunds"] = [_refund_fields(r) for r in order.refunds]
    return encoded


def _lines_fields(lines: Sequence[LineQuantity]) -> list[dict[str, Any]]:
    return [{"sku": line.sku, "quantity": line.quantity} for line in lines]


def _shipment_fields(shipment: Shipment) -> dict[str, Any]:
    return {
        "number": shipment.number,
        "at": _moment_text(shipment.at),
        "carrier": shipment.carrier,
        "tracking": shipment.tracking,
        "tracking_url": shipment.tracking_url,
        "lines": _lines_fields(shipment.lines),
        "by": shipment.by,
    }


def _refund_fields(refund: Refund) -> dict[str, Any]:
    settled = refund.settled_at
    return {
        "key": refund.key,
        "amount": refund.amount.amount,
        "lines": _lines_fields(refund.lines),
        "restock": refund.restock,
        "cancel": refund.cancel,
        "state": refund.state.value,
        "requested_at": _moment_text(refund.requested_at),
        "requested_by": refund.requested_by,
        "refund_id": refund.refund_id,
        "settled_at": None if settled is None else _moment_text(settled),
        "settled_by": refund.settled_by,
    }


def decode_order(data: Mapping[str, Any]) -> Order:
    """The order ``encode_order`` wrote; raises OrderFormatError otherwise."""
    _check_format(data, "order")
    return _read("order", _order, data)


def _priced_fields(priced: PricedOrder) -> dict[str, Any]:
    delivery = priced.delivery
    return {
        "currency": priced.currency,
        "lines": [_line_fields(line) for line in priced.lines],
        "subtotal": priced.subtotal.amount,
        "discounts": [
            {"label": d.label, "amount": d.amount.amount, "code": d.code} for d in priced.discounts
        ],
        "delivery": {
            "method": delivery.method,
            "label": delivery.label,
            "price": delivery.price.amount,
            "pickup": delivery.pickup,
        },
        "vat": [
            {"rate": str(v.rate), "gross": v.gross.amount, "vat": v.vat.amount} for v in priced.vat
        ],
        "total": priced.total.amount,
        "promo_code": priced.promo_code,
    }


def _line_fields(line: OrderLine) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "sku": line.sku,
        "title": line.title,
        "quantity": line.quantity,
        "unit_price": line.unit_price.amount,
        "discount": line.discount.amount,
        "total": line.total.amount,
        "tax_rate": str(line.tax_rate),
    }
    # Only when it has one: a line without encodes as it did before lead times.
    if line.lead_time_days is not None:
        fields["lead_time_days"] = line.lead_time_days
    if line.supplier is not None:
        fields["supplier"] = line.supplier
    return fields


def address_fields(address: Address) -> dict[str, str]:
    """An address as plain JSON fields (the codec's, and what exports show)."""
    return {
        "name": address.name,
        "line1": address.line1,
        "line2": address.line2,
        "postal_code": address.postal_code,
        "city": address.city,
        "country": address.country,
    }


def _check_format(data: Mapping[str, Any], what: str) -> None:
    if not isinstance(data, Mapping):
        raise OrderFormatError(f"a stored {what} must be a JSON object")
    version = data.get("format")
    if version is None:
        raise OrderFormatError(
            f"this stored {what} has no format number: it was written before the order "
            "codec and must be read with its legacy reader"
        )
    if version != FORMAT:
        raise OrderFormatError(
            f"this stored {what} has format {version!r}; this comptoir reads format {FORMAT} "
            "only: run the comptoir version that wrote it, or a newer one"
        )


def _read(what: str, reader: Callable[[Mapping[str, Any]], T], data: Mapping[str, Any]) -> T:
    """``reader(data)``, any shape error reported as OrderFormatError."""
    try:
        return reader(data)
    except (KeyError, TypeError, ValueError, InvalidOperation) as error:
        if isinstance(error, OrderFormatError):
            raise
        raise OrderFormatError(
            f"a stored {what} is malformed ({type(error).__name__}: {error})"
        ) from error


def _priced(data: Mapping[str, Any]) -> PricedOrder:
    currency = _text(data["currency"])

    def money(value: object) -> Money:
        return Money(_integer(value), currency)

    delivery = data["delivery"]
    return PricedOrder(
        currency=currency,
        lines=tuple(
            OrderLine(
                sku=_text(line["sku"]),
                title=_text(line["title"]),
                quantity=_integer(line["quantity"]),
                unit_price=money(line["unit_price"]),
                discount=money(line["discount"]),
                total=money(line["total"]),
                tax_rate=_rate(line["tax_rate"]),
                lead_time_days=_optional_days(line.get("lead_time_days")),
                supplier=_optional_text(line.get("supplier")),
            )
            for line in _list(data["lines"])
        ),
        subtotal=money(data["subtotal"]),
        discounts=tuple(
            OrderDiscount(_text(d["label"]), money(d["amount"]), _optional_text(d["code"]))
            for d in _list(data["discounts"])
        ),
        delivery=Delivery(
            _text(delivery["method"]),
            _text(delivery["label"]),
            money(delivery["price"]),
            _flag(delivery["pickup"]),
        ),
        vat=tuple(
            VatAmount(_rate(v["rate"]), money(v["gross"]), money(v["vat"]))
            for v in _list(data["vat"])
        ),
        total=money(data["total"]),
        promo_code=_optional_text(data["promo_code"]),
    )


def _order(data: Mapping[str, Any]) -> Order:
    address = data["shipping_address"]
    currency = _text(data["priced"]["currency"])
    return Order(
        session_id=_text(data["session_id"]),
        number=_text(data["number"]),
        status=OrderStatus(data["status"]),
        created_at=_moment(data["created_at"]),
        email=_text(data["email"]),
        customer_name=_text(data["customer_name"]),
        language=_text(data["language"]),
        priced=_priced(data["priced"]),
        shipping_address=None if address is None else _address(address),
        marketing_consent=_flag(data["marketing_consent"]),
        history=tuple(
            OrderEvent(_moment(e["at"]), OrderStatus(e["status"]), _text(e["note"]))
            for e in _list(data["history"])
        ),
        shipments=tuple(_shipment(s) for s in _list(data.get("shipments", []))),
        refunds=tuple(_refund(r, currency) for r in _list(data.get("refunds", []))),
    )


def _line_quantities(value: object) -> tuple[LineQuantity, ...]:
    return tuple(LineQuantity(_text(x["sku"]), _integer(x["quantity"])) for x in _list(value))


def _shipment(data: Mapping[str, Any]) -> Shipment:
    return Shipment(
        number=_integer(data["number"]),
        at=_moment(data["at"]),
        carrier=_text(data["carrier"]),
        tracking=_text(data["tracking"]),
        tracking_url=_text(data["tracking_url"]),
        lines=_line_quantities(data["lines"]),
        by=_text(data["by"]),
    )


def _refund(data: Mapping[str, Any], currency: str) -> Refund:
    settled = data["settled_at"]
    return Refund(
        key=_text(data["key"]),
        amount=Money(_integer(data["amount"]), currency),
        lines=_line_quantities(data["lines"]),
        restock=_flag(data["restock"]),
        cancel=_flag(data["cancel"]),
        state=RefundState(data["state"]),
        requested_at=_moment(data["requested_at"]),
        requested_by=_text(data["requested_by"]),
        refund_id=_text(data["refund_id"]),
        settled_at=None if settled is None else _moment(settled),
        settled_by=_text(data["settled_by"]),
    )


def _address(data: Mapping[str, Any]) -> Address:
    return Address(
        name=_text(data["name"]),
        line1=_text(data["line1"]),
        line2=_text(data["line2"]),
        postal_code=_text(data["postal_code"]),
        city=_text(data["city"]),
        country=_text(data["country"]),
    )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _integer(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected a whole number, got {value!r}")
    return value


def _optional_days(value: object) -> int | None:
    if value is None:
        return None
    days = _integer(value)
    if days < 0:
        raise ValueError(f"a lead time cannot be negative, got {days}")
    return days


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def _rate(value: object) -> Decimal:
    rate = Decimal(_text(value))
    if not rate.is_finite():
        raise ValueError(f"a VAT rate must be a number, got {value!r}")
    return rate


def _moment_text(moment: dt.datetime) -> str:
    """UTC ISO text; a naive time is refused, as it could be any time zone's."""
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: orders take aware UTC datetimes")
    return moment.astimezone(dt.UTC).isoformat()


def _moment(value: object) -> dt.datetime:
    return dt.datetime.fromisoformat(_text(value))


def _list(value: object) -> Sequence[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


# -- what the version before the codec stored ---------------------------------------------


def legacy_priced(quote: Mapping[str, Any]) -> PricedOrder:
    """The priced order of a checkout saved before the codec, from the quote's display JSON.

    Such a checkout may be paid after the upgrade (a session lives up to a day), so its
    order must still be made. Raises OrderFormatError for what is not such a quote.
    """

    def read(data: Mapping[str, Any]) -> PricedOrder:
        def amount(value: Mapping[str, Any]) -> Any:  # {"amount": 1245, "display": …}
            return value["amount"]

        shipping = data["shipping"]
        return _priced(  # the same values in today's encoding, read by today's reader
            {
                "currency": data["currency"],
                "lines": [
                    {
                        **{k: line[k] for k in ("sku", "title", "quantity", "tax_rate")},
                        **{k: amount(line[k]) for k in ("unit_price", "discount", "total")},
                    }
                    for line in _list(data["lines"])
                ],
                "subtotal": amount(data["subtotal"]),
                "discounts": [
                    {"label": d["label"], "amount": amount(d["amount"]), "code": d.get("code")}
                    for d in _list(data["discounts"])
                ],
                "delivery": {
                    "method": shipping["id"],
                    "label": shipping["name"],
                    "price": amount(shipping["price"]),
                    "pickup": shipping["pickup"],
                },
                "vat": [
                    {"rate": v["rate"], "gross": amount(v["gross"]), "vat": amount(v["vat"])}
                    for v in _list(data["vat"])
                ],
                "total": amount(data["total"]),
                "promo_code": data.get("promo_code"),
            }
        )

    return _read("checkout quote (before the order codec)", read, quote)


def legacy_order(
    data: Mapping[str, Any],
    *,
    session_id: str,
    number: str,
    status: OrderStatus,
    created_at: dt.datetime,
    currency: str,
    email: str,
    history: Sequence[OrderEvent],
) -> Order:
    """An order stored before the codec: its ``data`` JSON plus the row's own columns.

    Those orders kept no delivery method id nor discount codes: they come back empty.
    Their ``payment_status`` is dropped, the status says the same.
    Raises OrderFormatError for what is not such an order.
    """

    def read(data: Mapping[str, Any]) -> Order:
        shipping = data["shipping"]
        if shipping is None:
            raise ValueError("no delivery method (checkout never made such orders)")
        address = data["shipping_address"]
        priced = _priced(  # the same values in today's encoding, read by today's reader
            {
                "currency": currency,
                "lines": data["lines"],  # the same keys, amounts already in minor units
                "subtotal": data["subtotal"],
                "discounts": [
                    {"label": d["label"], "amount": d["amount"], "code": None}
                    for d in _list(data["discounts"])
                ],
                "delivery": {
                    "method": "",
                    "label": shipping["label"],
                    "price": shipping["amount"],
                    "pickup": data["pickup"],
                },
                "vat": data["vat"],
                "total": data["total"],
                "promo_code": None,
            }
        )
        return Order(
            session_id=session_id,
            number=number,
            status=status,
            created_at=created_at,
            email=email,
            customer_name=_text(data["customer_name"]),
            language=_text(data.get("language", "")),
            priced=priced,
            shipping_address=None if address is None else _address(address),
            marketing_consent=_flag(data["marketing_consent"]),
            history=tuple(history),
        )

    return _read("order (before the order codec)", read, data)
