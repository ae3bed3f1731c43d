"""Returns: what a shopper sends back, within the legal withdrawal period, and its refund.

French and EU law (Code de la consommation art. L221-18 and L221-24; Directive 2011/83/EU
art. 9, 13 and 11a): the shopper may withdraw within 14 days of delivery, without a
reason; the shop refunds within 14 days, and may wait until the goods are back. When the
whole order comes back, the standard delivery it charged is refunded too.

A ``ReturnRequest`` moves along ``RETURN_TRANSITIONS`` (requested -> received -> refunded)
and keeps a history. Pure values and a JSON codec, as ``shop.orders`` has for orders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from shop.money import Money
from shop.orders import Order, OrderStatus

FORMAT = 1  # of encoded returns; bump it, and read the old one, on a change
WITHDRAWAL_PERIOD = dt.timedelta(days=14)  # to ask, from delivery (L221-18)
REFUND_PERIOD = dt.timedelta(days=14)  # to refund, from the goods' receipt (L221-24)
# When no delivery is recorded, an order is taken as delivered this long after it was placed
# (or shipped): the usual transit of a parcel in France, a little generous to the shopper.
USUAL_TRANSIT = dt.timedelta(days=3)
# What an order must be for goods to come back: paid, or shipped (partly refunded included).
RETURNABLE = frozenset({OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED})


class ReturnStatus(StrEnum):
    REQUESTED = "requested"  # the shopper asked (or the merchant recorded it)
    RECEIVED = "received"  # the goods are back, restocked; the refund is due
    REFUNDED = "refunded"


RETURN_TRANSITIONS: Mapping[ReturnStatus, frozenset[ReturnStatus]] = {
    ReturnStatus.REQUESTED: frozenset({ReturnStatus.RECEIVED}),
    ReturnStatus.RECEIVED: frozenset({ReturnStatus.REFUNDED}),
    ReturnStatus.REFUNDED: frozenset(),
}


class ReturnSource(StrEnum):
    MERCHANT = "merchant"  # `comptoir returns open`
    WITHDRAWAL = "withdrawal"  # the shopper's withdrawal function on the site


class InvalidReturnTransition(ValueError):
    """A return was asked to move where its status does not allow."""


class ReturnFormatError(ValueError):
    """A stored return this version cannot read."""


@dataclass(frozen=True, slots=True)
class ReturnLine:
    sku: str
    title: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ReturnEvent:
    at: dt.datetime  # UTC
    status: ReturnStatus
    note: str


@dataclass(frozen=True, slots=True)
class ReturnRequest:
    rid: str  # shown to people: "<order number>-R1", or "<order number>-W" for the withdrawal
    session_id: str  # the order's
    order_number: str
    source: ReturnSource
    status: ReturnStatus
    created_at: dt.datetime  # UTC: when the withdrawal was declared
    lines: tuple[ReturnLine, ...]
    delivered_on: dt.date  # the delivery the period runs from (see ``delivered_on``)
    request_deadline: dt.date  # the last day to ask
    contact_name: str = ""
    contact_address: str = ""
    received_at: dt.datetime | None = None
    refund_deadline: dt.date | None = None  # set on receipt
    refund_amount: Money | None = None  # set when refunded
    refund_id: str | None = None
    history: tuple[ReturnEvent, ...] = ()

    def moved(
        self, status: ReturnStatus, note: str, at: dt.datetime, **changes: Any
    ) -> ReturnRequest:
        """This return in ``status`` with ``changes``, the move in its history."""
        if status not in RETURN_TRANSITIONS[self.status]:
            raise InvalidReturnTransition(
                f"return {self.rid}: {self.status} -> {status} is not allowed"
            )
        event = ReturnEvent(at, status, note)
        return replace(self, status=status, history=(*self.history, event), **changes)


# -- the law's dates ------------------------------------------------------------------


def delivered_on(order: Order, zone: dt.tzinfo, recorded: dt.date | None = None) -> dt.date:
    """The day the order counts as delivered: ``recorded`` if known, else the day it was
    shipped (its last move to fulfilled) or, unshipped, placed, plus ``USUAL_TRANSIT``."""
    if recorded is not None:
        return recorded
    shipped = [e.at for e in order.history if e.status == OrderStatus.FULFILLED]
    start = shipped[-1] if shipped else order.created_at
    return (start.astimezone(zone) + USUAL_TRANSIT).date()


def request_deadline(delivered: dt.date) -> dt.date:
    """The last day a shopper may withdraw: 14 days after delivery."""
    return delivered + WITHDRAWAL_PERIOD


def refund_deadline(received: dt.date) -> dt.date:
    return received + REFUND_PERIOD


# -- money ----------------------------------------------------------------------------


def refund_for(order: Order, lines: Sequence[ReturnLine], whole_order: bool) -> Money:
    """What returning ``lines`` refunds: each unit at what was paid for it (its share of
    discounts deducted; the last units of a line take the rounding, so a whole line
    refunds exactly what it cost), plus the delivery when the whole order came back."""
    by_sku = {line.sku: line for line in order.priced.lines}
    amount = 0
    for returned in lines:
        line = by_sku[returned.sku]
        amount += line.total.amount * returned.quantity // line.quantity
    if whole_order:
        amount += order.priced.delivery.price.amount
    return Money(amount, order.currency)


# -- codec ----------------------------------------------------------------------------


def encode_return(ret: ReturnRequest) -> dict[str, Any]:
    """``ret`` as a JSON-able dict for ``decode_return``; times in UTC."""
    return {
        "format": FORMAT,
        "rid": ret.rid,
        "session_id": ret.session_id,
        "order_number": ret.order_number,
        "source": ret.source.value,
        "status": ret.status.value,
        "created_at": _moment_text(ret.created_at),
        "lines": [{"sku": x.sku, "title": x.title, "quantity": x.quantity} for x in ret.lines],
        "delivered_on": ret.delivered_on.isoformat(),
        "request_deadline": ret.request_deadline.isoformat(),
        "contact_name": ret.contact_name,
        "contact_address": ret.contact_address,
        "received_at": None if ret.received_at is None else _moment_text(ret.received_at),
        "refund_deadline": None if ret.refund_deadline is None else ret.refund_deadline.isoformat(),
        "refund_amount": None
        if ret.refund_amount is None
        else {"amount": ret.refund_amount.amount, "currency": ret.refund_amount.currency},
        "refund_id": ret.refund_id,
        "history": [
            {"at": _moment_text(e.at), "status": e.status.value, "note": e.note}
            for e in ret.history
        ],
    }


def decode_return(data: Mapping[str, Any]) -> ReturnRequest:
    """The return ``encode_return`` wrote; raises ReturnFormatError otherwise."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise ReturnFormatError(f"a stored return must have format {FORMAT}")
    try:
        money = data["refund_amount"]
        return ReturnRequest(
            rid=str(data["rid"]),
            session_id=str(data["session_id"]),
            order_number=str(data["order_number"]),
            source=ReturnSource(data["source"]),
            status=ReturnStatus(data["status"]),
            created_at=dt.datetime.fromisoformat(data["created_at"]),
            lines=tuple(
                ReturnLine(str(x["sku"]), str(x["title"]), int(x["quantity"]))
                for x in data["lines"]
            ),
            delivered_on=dt.date.fromisoformat(data["delivered_on"]),
            request_deadline=dt.date.fromisoformat(data["request_deadline"]),
            contact_name=str(data["contact_name"]),
            contact_address=str(data["contact_address"]),
            received_at=None
            if data["received_at"] is None
            else dt.datetime.fromisoformat(data["received_at"]),
            refund_deadline=None
            if data["refund_deadline"] is None
            else dt.date.fromisoformat(data["refund_deadline"]),
            refund_amount=None if money is None else Money(int(money["amount"]), money["currency"]),
            refund_id=None if data["refund_id"] is None else str(data["refund_id"]),
            history=tuple(
                ReturnEvent(
                    dt.datetime.fromisoformat(e["at"]), ReturnStatus(e["status"]), str(e["note"])
                )
                for e in data["history"]
            ),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ReturnFormatError(f"a stored return is malformed ({error})") from error


def _moment_text(moment: dt.datetime) -> str:
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: returns take aware UTC datetimes")
    return moment.astimezone(dt.UTC).isoformat()
