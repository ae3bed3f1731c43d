"""Orders in the back room: find them, ship them, refund them, cancel them.

Every status change goes through ``Order.moved`` (shop.orders.TRANSITIONS) inside one
``Store.update_order``, so two merchants (or a merchant and a webhook) never overwrite
each other. Money moves only through Stripe: a refund is recorded on the order first
(with the idempotency key Stripe is given, derived from the order and what is asked,
so the same command run twice refunds once), then asked of Stripe; the order, the stock
and the refund e-mail follow from Stripe's ``charge.refunded`` event
(``functions.refunds``). A partial shipment keeps the order ``paid`` (its shipped
quantities are on the order); it becomes ``fulfilled`` once nothing is left to send.

``actor`` names who or what asked (e.g. "merchant via CLI"); it goes into the order's
history beside each change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import urllib.parse
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from functions.backroom.context import BackRoom, OperationError
from functions.backroom.invoices import invoice_attachments
from functions.emails import InvalidAddress, shipping_email
from functions.errors import PaymentError
from functions.outbox import queue_order_emails
from functions.outgoing_webhooks import queue_order_event
from functions.payments import RefundRefused
from functions.store import OrderQuery
from functions.suppliers import queue_supplier_orders
from shop.config import TRACKING_PLACEHOLDER
from shop.dispatch import promised_dispatch
from shop.money import Money, MoneyFormatError, parse_money
from shop.orders import (
    TRANSITIONS,
    InvalidTransition,
    LineQuantity,
    Order,
    OrderStatus,
    Refund,
    RefundState,
    Shipment,
    address_fields,
)

DEFAULT_ACTOR = "merchant"
_UNITS = re.compile(r"\s*([^\s:,]+)\s*:\s*(\d+)\s*")
_TRACKING = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/-]{0,63}")
# Orders whose payment can be (partly) paid back.
_REFUNDABLE = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.FULFILLED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.CANCELLED,
    }
)


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """What ``orders list`` asks for, as the merchant wrote it (dates in the shop's zone)."""

    statuses: tuple[str, ...] = ()
    since: dt.date | None = None  # from this day, inclusive
    until: dt.date | None = None  # to this day, inclusive
    email: str | None = None
    sku: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    order: Order
    refund: Refund
    repeated: bool  # the same refund was asked before: nothing more was refunded


@dataclass(frozen=True, slots=True)
class AcceptOutcome:
    order: Order
    repeated: bool  # it was accepted before: nothing changed
    suppliers_queued: tuple[str, ...]  # the supplier orders queued by this call (keys)


@dataclass(frozen=True, slots=True)
class ShipOutcome:
    order: Order
    shipment: Shipment
    repeated: bool  # this parcel (carrier and tracking) was recorded before
    mail_queued: bool


# -- finding ----------------------------------------------------------------------


def list_orders(backroom: BackRoom, wanted: OrderFilter) -> list[Order]:
    """The orders ``wanted`` names, newest first; bad criteria raise OperationError."""
    statuses = frozenset(_status(name) for name in wanted.statuses)
    if wanted.limit < 1:
        raise OperationError("bad_limit", "--limit must be 1 or more")
    if wanted.since and wanted.until and wanted.until < wanted.since:
        raise OperationError(
            "bad_dates", f"--to {wanted.until} is before --from {wanted.since}: swap them"
        )
    zone = _zone(backroom)
    query = OrderQuery(
        statuses=statuses,
        created_from=None if wanted.since is None else _midnight(wanted.since, zone),
        created_before=(
            None if wanted.until is None else _midnight(wanted.until + dt.timedelta(days=1), zone)
        ),
        email=wanted.email.strip() if wanted.email else None,
        sku=wanted.sku.strip() if wanted.sku else None,
    )
    return backroom.store.find_orders(query, wanted.limit)


def find_order(backroom: BackRoom, reference: str) -> Order:
    """The order named by its number (CT-20261206-3FA2B1) or checkout session id (cs_…).
    Numbers are short: two orders may, rarely, share one; then the session id is asked."""
    reference = reference.strip()
    order = None
    if reference:
        order = backroom.store.get_order(reference)
        if order is None:
            numbered = backroom.store.find_orders_by_number(reference.upper())
            if len(numbered) > 1:
                sessions = ", ".join(o.session_id for o in numbered)
                raise OperationError(
                    "ambiguous_order",
                    f"several orders are numbered {reference}: name one by its checkout "
                    f"session id ({sessions})",
                )
            # Orders stored before numbers were indexed are found by the older lookup.
            order = (
                numbered[0] if numbered else backroom.store.find_order_by_number(reference.upper())
            )
    if order is None:
        raise OperationError(
            "unknown_order",
            f"no order {reference!r}: give its number (CT-…) or checkout session id "
            "(cs_…), as `comptoir orders list` shows them",
        )
    return order


# -- shipping ---------------------------------------------------------------------


def ship(
    backroom: BackRoom,
    reference: str,
    carrier: str,
    tracking: str,
    lines: str | None = None,
    *,
    actor: str = DEFAULT_ACTOR,
) -> ShipOutcome:
    """Record a parcel (all that is left to send, or ``lines`` "SKU:QTY,…") and queue the
    shopper's shipping e-mail. The order becomes fulfilled once nothing is left to send.
    The same carrier and tracking code again is the same parcel: nothing new happens."""
    shop = backroom.shop()
    carrier_key = carrier.strip().lower()
    pattern = shop.config.carriers.get(carrier_key)
    if pattern is None:
        known = ", ".join(sorted(shop.config.carriers))
        raise OperationError(
            "unknown_carrier",
            f"unknown carrier {carrier!r}: use one of {known}, or add it under "
            "'carriers:' in the shop's settings, then build",
        )
    code = tracking.strip()
    if not _TRACKING.fullmatch(code):
        raise OperationError(
            "bad_tracking",
            f"tracking code {tracking!r}: write the carrier's code (letters, digits, "
            "up to 64 characters)",
        )
    order = find_order(backroom, reference)
    now = backroom.now()
    url = pattern.replace(TRACKING_PLACEHOLDER, urllib.parse.quote(code, safe=""))

    def record(order: Order) -> Order:
        if any(s.carrier == carrier_key and s.tracking == code for s in order.shipments):
            return order
        if order.status not in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED):
            raise _illegal(order, OrderStatus.FULFILLED, "ship")
        left = order.to_ship()
        units = _units(lines, order) if lines else left
        if not units:
            raise OperationError(
                "nothing_to_ship", f"order {order.number}: everything was shipped or refunded"
            )
        for sku, quantity in units.items():
            if quantity > left.get(sku, 0):
                raise OperationError(
                    "too_many_units",
                    f"order {order.number}: {quantity} × {sku} asked, "
                    f"{left.get(sku, 0)} left to ship",
                )
        shipment = Shipment(
            number=len(order.shipments) + 1,
            at=now,
            carrier=carrier_key,
            tracking=code,
            tracking_url=url,
            lines=tuple(LineQuantity(sku, q) for sku, q in units.items()),
            by=actor,
        )
        shipped = replace(order, shipments=(*order.shipments, shipment))
        what = ", ".join(f"{q} × {sku}" for sku, q in units.items())
        note = f"shipped {what} by {carrier_key} {code} ({actor})"
        if shipped.to_ship():
            return shipped.noted(note, now)  # partly shipped: the status stays
        return shipped.moved(OrderStatus.FULFILLED, note, now)

    before = len(order.shipments)
    order = _update(backroom, order, record)
    shipment = next(s for s in order.shipments if s.carrier == carrier_key and s.tracking == code)
    repeated = len(order.shipments) == before
    # Once per shipment (its number in the order), however often the command is run.
    queue_order_event(
        backroom.store, shop, "order.shipped", order, f"shipment:{shipment.number}", now
    )
    queued = False
    if order.email:
        try:
            queued = backroom.store.enqueue_mail(shipping_email(order, shipment, shop), now)
        except InvalidAddress:
            queued = False
    return ShipOutcome(order, shipment, repeated, queued)


# -- an oversold order the merchant can supply ----------------------------------------


def accept(backroom: BackRoom, reference: str, *, actor: str = DEFAULT_ACTOR) -> AcceptOutcome:
    """An oversold order the merchant can supply after all goes back to paid, to be
    shipped: it is invoiced, the shopper gets the confirmation, the merchant the new
    order's e-mail, and its suppliers their lines (none of which went out while it
    waited). Accepting it again changes nothing; any other order is refused."""
    order = find_order(backroom, reference)
    now = backroom.now()
    refunds_itself = backroom.shop().config.oversold == "refund"

    def change(order: Order) -> Order:
        if order.status == OrderStatus.PAID and _was_oversold(order):
            return order
        if order.status != OrderStatus.OVERSOLD:
            raise OperationError(
                "not_oversold",
                f"order {order.number} is {order.status.value}: only an oversold order "
                "waits to be accepted (`comptoir orders list --status oversold`)",
            )
        # A refund under way (the shop's own with `oversold: refund`, or one asked with
        # `orders refund`/`cancel`) settles when Stripe confirms it: accepting meanwhile
        # would confirm, invoice and send to suppliers an order being paid back.
        if refunds_itself or order.refundable() != order.total:
            raise OperationError(
                "being_refunded",
                f"order {order.number} is being refunded"
                + (" (the shop's settings say `oversold: refund`)" if refunds_itself else "")
                + ": it cannot be accepted",
            )
        return order.moved(OrderStatus.PAID, f"accepted: it can be supplied ({actor})", now)

    before = order
    order = _update(backroom, order, change)
    repeated = order == before and order.status == OrderStatus.PAID
    store, shop = backroom.store, backroom.shop()
    # What its payment would have brought had it not been oversold (each once, by key):
    # the invoice, the shopper's confirmation, the merchant's order to prepare.
    queue_order_emails(store, order, shop, now, invoice_attachments(store, shop, order, now))
    queued = queue_supplier_orders(store, shop, order, now)
    return AcceptOutcome(order, repeated, tuple(queued))


def _was_oversold(order: Order) -> bool:
    return any(event.status == OrderStatus.OVERSOLD for event in order.history)


# -- refunds ----------------------------------------------------------------------


def refund(
    backroom: BackRoom,
    reference: str,
    amount: str | None = None,
    lines: str | None = None,
    *,
    restock: bool = False,
    actor: str = DEFAULT_ACTOR,
) -> RefundOutcome:
    """Refund part or all of what remains of an order's payment, through Stripe.

    ``amount`` is a decimal string ("12.50"); ``lines`` ("SKU:QTY,…") refunds those
    units at what they were paid (and, with ``restock``, puts them back); with neither,
    everything that remains (``restock``: with the units never sent). Never more than
    what remains refundable. The same request again is the same refund.
    """
    order = find_order(backroom, reference)
    if restock and not lines and amount is not None:
        raise OperationError(
            "restock_needs_lines", "--restock needs --lines SKU:QTY to say which units came back"
        )
    asked = _Asked(
        amount=None if amount is None else _money(amount, order.currency),
        units=tuple(_units(lines, order).items()) if lines else (),
        restock=restock,
        cancel=False,
    )
    return _refund(backroom, order, asked, actor)


def cancel(backroom: BackRoom, reference: str, *, actor: str = DEFAULT_ACTOR) -> RefundOutcome:
    """Cancel an order nothing of which was shipped: refund all that remains and put its
    units back; the order becomes cancelled when Stripe confirms the refund."""
    order = find_order(backroom, reference)
    asked = _Asked(amount=None, units=(), restock=True, cancel=True)
    if _repeat(order, asked) is not None:  # asked before: answered as it stands
        return _refund(backroom, order, asked, actor)
    if order.shipments:
        raise OperationError(
            "already_shipped",
            f"order {order.number} was shipped ({len(order.shipments)} parcel(s)): it cannot "
            "be cancelled; refund it with `comptoir orders refund` instead",
        )
    if OrderStatus.CANCELLED not in TRANSITIONS[order.status]:
        raise _illegal(order, OrderStatus.CANCELLED, "cancel")
    if order.status == OrderStatus.PENDING:
        raise OperationError(
            "payment_pending",
            f"order {order.number}: its payment has not cleared yet, so it cannot be "
            "refunded; wait until it is paid (or fails)",
        )
    return _refund(backroom, order, asked, actor)


@dataclass(frozen=True, slots=True)
class _Asked:
    """A refund as the merchant asked it: what makes two requests the same one."""

    amount: Money | None  # None: what the units are worth, or else all that remains
    units: tuple[tuple[str, int], ...]
    restock: bool
    cancel: bool

    def base_key(self, order: Order) -> str:
        amount = "rest" if self.amount is None else str(self.amount.amount)
        content = f"{order.session_id}|{amount}|{self.units}|{self.restock}|{self.cancel}"
        return f"{order.session_id}-{hashlib.sha256(content.encode()).hexdigest()[:16]}"


def _repeat(order: Order, asked: _Asked) -> Refund | None:
    """The refund this very request made before, unless Stripe refused it."""
    base = asked.base_key(order)
    mine = [r for r in order.refunds if r.key.rsplit(".", 1)[0] == base]
    return next((r for r in mine if r.state != RefundState.FAILED), None)


def _pending(refund: Refund) -> bool:
    return refund.state == RefundState.REQUESTED


def _refund(backroom: BackRoom, order: Order, asked: _Asked, actor: str) -> RefundOutcome:
    repeat = _repeat(order, asked)
    if repeat is not None and not _pending(repeat):
        return RefundOutcome(order, repeat, repeated=True)
    if repeat is None:  # a new refund: the order must allow it
        if order.status not in _REFUNDABLE:
            raise _illegal(order, OrderStatus.REFUNDED, "refund")
        units = dict(asked.units)
        if asked.restock and not units:
            units = order.to_ship()  # all that remains, with the units never sent
        if asked.amount is not None:
            amount = asked.amount
        elif asked.units:
            amount = _value_of(order, units)
        else:
            amount = order.refundable()
        _check_amount(order, amount, order.refundable())
    backroom.require_payments()  # before anything is recorded
    checkout = backroom.store.get_checkout(order.session_id)
    if checkout is None or not checkout.payment_intent:
        raise OperationError(
            "no_payment",
            f"order {order.number}: no Stripe payment is recorded for it; refund it in "
            "Stripe's dashboard",
        )
    now = backroom.now()
    if repeat is None:
        base = asked.base_key(order)
        refused = sum(1 for r in order.refunds if r.key.rsplit(".", 1)[0] == base)
        wanted = Refund(
            key=f"{base}.{refused}",  # a refused one may be asked again: a new key
            amount=amount,
            lines=tuple(LineQuantity(sku, q) for sku, q in units.items()),
            restock=asked.restock,
            cancel=asked.cancel,
            state=RefundState.REQUESTED,
            requested_at=now,
            requested_by=actor,
        )
    else:
        wanted = repeat

    def request(order: Order) -> Order:
        if any(r.key == wanted.key for r in order.refunds):
            return order
        _check_amount(order, wanted.amount, order.refundable())  # as it is now
        what = "cancellation and refund" if wanted.cancel else "refund"
        note = f"{what} of {wanted.amount.to_text()} {order.currency} asked ({actor})"
        return replace(order, refunds=(*order.refunds, wanted)).noted(note, now)

    order = _update(backroom, order, request)
    recorded = next(r for r in order.refunds if r.key == wanted.key)
    if not _pending(recorded):
        return RefundOutcome(order, recorded, repeated=True)
    try:
        order = ask_refund(backroom, checkout.payment_intent, order, recorded, "comptoir-")
    except RefundRefused as error:
        raise OperationError(
            "refund_refused", f"order {order.number}: nothing was refunded: {error}"
        ) from error
    except PaymentError as error:
        # It may have been made: the refund stays requested, and the same command again
        # (the same idempotency key) refunds once; its charge.refunded counts it.
        raise OperationError(
            "payments_unavailable",
            f"order {order.number}: {error} Run the same command again later.",
        ) from error
    recorded = next(r for r in order.refunds if r.key == wanted.key)
    return RefundOutcome(order, recorded, repeated=repeat is not None)


def ask_refund(
    backroom: BackRoom, payment_intent: str, order: Order, refund: Refund, prefix: str = ""
) -> Order:
    """Ask Stripe for ``refund``, already recorded on ``order`` (so that no two refunds
    pay back more than was paid), under the idempotency key ``prefix + refund.key``.
    Made: its Stripe id is recorded (its ``charge.refunded`` settles it). Refused: it is
    marked failed (nothing was refunded; asking again takes a new key) and RefundRefused
    comes out. PaymentError (it may have been made) leaves it requested: the same key
    asked again refunds once. Returns the order as it now stands."""
    payments = backroom.require_payments()
    try:
        made = payments.refund(
            payment_intent,
            refund.amount.amount,
            prefix + refund.key,
            reason="requested_by_customer",
        )
    except RefundRefused as error:
        _set_refund(backroom, order.session_id, refund.key, _refused(str(error), backroom.now()))
        raise
    return _set_refund(
        backroom, order.session_id, refund.key, lambda r: replace(r, refund_id=made.id)
    )


def _check_amount(order: Order, amount: Money, left: Money) -> None:
    if amount.amount <= 0:
        raise OperationError(
            "nothing_to_refund",
            f"order {order.number}: nothing left to refund (refunded or asked: "
            f"{(order.total - left).to_text()} of {order.total.to_text()} {order.currency})",
        )
    if amount.amount > left.amount:
        raise OperationError(
            "too_much",
            f"order {order.number}: {amount.to_text()} {order.currency} asked, "
            f"{left.to_text()} left to refund",
        )


def _set_refund(
    backroom: BackRoom, session_id: str, key: str, change: Callable[[Refund], Refund]
) -> Order:
    """The order with its refund ``key`` changed (``change`` sees it as stored now: the
    webhook may have counted it meanwhile)."""

    def apply(order: Order) -> Order:
        refunds = tuple(change(r) if r.key == key else r for r in order.refunds)
        return replace(order, refunds=refunds)

    return backroom.store.update_order(session_id, apply)


def _refused(reason: str, at: dt.datetime) -> Callable[[Refund], Refund]:
    def change(refund: Refund) -> Refund:
        if refund.state != RefundState.REQUESTED:
            return refund
        return replace(refund, state=RefundState.FAILED, settled_at=at, settled_by=reason)

    return change


def _value_of(order: Order, units: Mapping[str, int]) -> Money:
    """What ``units`` were paid, discounts included: a line's total shared among its units,
    the cents of rounding going to the last ones, so all of them add up to the line."""
    refunded = order.refunded_quantities()
    value = 0
    for sku, quantity in units.items():
        line = next(line for line in order.priced.lines if line.sku == sku)
        before = min(refunded.get(sku, 0), line.quantity)
        after = min(before + quantity, line.quantity)
        total = line.total.amount
        value += total * after // line.quantity - total * before // line.quantity
    return Money(value, order.currency)


# -- small things -----------------------------------------------------------------


def _units(text: str, order: Order) -> dict[str, int]:
    """ "SKU:QTY,SKU:QTY" of the order's SKUs, each asked once, QTY ≥ 1."""
    ordered = order.ordered_quantities()
    units: dict[str, int] = {}
    for part in text.split(","):
        match = _UNITS.fullmatch(part)
        if match is None:
            raise OperationError(
                "bad_lines", f"--lines {text!r}: write SKU:QTY pairs, e.g. BOL-BLEU:1,THE-VERT:2"
            )
        sku, quantity = match.group(1), int(match.group(2))
        if sku not in ordered:
            raise OperationError(
                "unknown_line",
                f"order {order.number} has no line {sku}: its SKUs are {', '.join(ordered)}",
            )
        if quantity < 1 or sku in units:
            raise OperationError(
                "bad_lines", f"--lines {text!r}: each SKU once, with a quantity of 1 or more"
            )
        if quantity > ordered[sku]:
            raise OperationError(
                "too_many_units", f"order {order.number}: {ordered[sku]} × {sku} ordered"
            )
        units[sku] = quantity
    return units


def _money(text: str, currency: str) -> Money:
    try:
        return parse_money(text, currency)
    except MoneyFormatError as error:
        raise OperationError("bad_amount", f"--amount: {error}") from None


def _status(name: str) -> OrderStatus:
    try:
        return OrderStatus(name.strip().lower().replace("-", "_"))
    except ValueError:
        known = ", ".join(s.value for s in OrderStatus)
        raise OperationError(
            "unknown_status", f"unknown status {name!r}: use one of {known}"
        ) from None


def _illegal(order: Order, target: OrderStatus, action: str) -> OperationError:
    return OperationError(
        "invalid_transition",
        f"order {order.number} is {order.status.value}: it cannot be {_PAST[action]} "
        f"({order.status.value} -> {target.value} is not allowed)",
    )


_PAST = {"ship": "shipped", "refund": "refunded", "cancel": "cancelled"}


def _update(backroom: BackRoom, order: Order, change: Callable[[Order], Order]) -> Order:
    try:
        return backroom.store.update_order(order.session_id, change)
    except InvalidTransition as error:
        raise OperationError("invalid_transition", str(error)) from None
    except KeyError:
        raise OperationError("unknown_order", f"order {order.number} vanished") from None


def _zone(backroom: BackRoom) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(backroom.shop().config.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


# -- how an order reads (the CLI's tables and JSON, a back office's pages) -------------


def order_json(order: Order, locale: str, zone: dt.tzinfo) -> dict[str, Any]:
    """Everything about ``order``, JSON-able; amounts as minor units with their display;
    ``expected_dispatch`` is the date promised in the shop's ``zone`` (None: none promised)."""

    def money(value: Money) -> dict[str, Any]:
        return {"amount": value.amount, "currency": value.currency, "display": value.format(locale)}

    priced = order.priced
    shipped, refunded = order.shipped_quantities(), order.refunded_quantities()
    address = order.shipping_address
    return {
        "number": order.number,
        "session_id": order.session_id,
        "status": order.status.value,
        "created_at": order.created_at.isoformat(),
        "expected_dispatch": _day_text(promised_dispatch(order, zone)),
        "email": order.email,
        "customer_name": order.customer_name,
        "language": order.language,
        "marketing_consent": order.marketing_consent,
        "shipping_address": None if address is None else address_fields(address),
        "delivery": {
            "method": priced.delivery.method,
            "label": priced.delivery.label,
            "price": money(priced.delivery.price),
            "pickup": priced.delivery.pickup,
        },
        "lines": [
            {
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "unit_price": money(line.unit_price),
                "discount": money(line.discount),
                "total": money(line.total),
                "tax_rate": str(line.tax_rate),
                "lead_time_days": line.lead_time_days,
                "shipped": shipped.get(line.sku, 0),
                "refunded": refunded.get(line.sku, 0),
            }
            for line in priced.lines
        ],
        "subtotal": money(priced.subtotal),
        "discounts": [
            {"label": d.label, "code": d.code, "amount": money(d.amount)} for d in priced.discounts
        ],
        "vat": [
            {"rate": str(v.rate), "gross": money(v.gross), "vat": money(v.vat)} for v in priced.vat
        ],
        "total": money(priced.total),
        "refunded": money(order.refunded()),
        "refundable": money(order.refundable()),
        "to_ship": order.to_ship(),
        "shipments": [
            {
                "number": s.number,
                "at": s.at.isoformat(),
                "carrier": s.carrier,
                "tracking": s.tracking,
                "tracking_url": s.tracking_url,
                "lines": {line.sku: line.quantity for line in s.lines},
                "by": s.by,
            }
            for s in order.shipments
        ],
        "refunds": [
            {
                "key": r.key,
                "amount": money(r.amount),
                "lines": {line.sku: line.quantity for line in r.lines},
                "restock": r.restock,
                "cancel": r.cancel,
                "state": r.state.value,
                "requested_at": r.requested_at.isoformat(),
                "requested_by": r.requested_by,
                "refund_id": r.refund_id,
                "settled_at": None if r.settled_at is None else r.settled_at.isoformat(),
                "settled_by": r.settled_by,
            }
            for r in order.refunds
        ],
        "history": [
            {"at": e.at.isoformat(), "status": e.status.value, "note": e.note}
            for e in order.history
        ],
    }


def order_row(order: Order, locale: str, zone: dt.tzinfo) -> dict[str, Any]:
    """One line of ``orders list``: flat, for a table or a spreadsheet."""
    ordered = sum(order.ordered_quantities().values())
    return {
        "number": order.number,
        "placed": local_time(order.created_at, zone),
        "dispatch": _day_text(promised_dispatch(order, zone)) or "",
        "status": order.status.value,
        "customer": order.customer_name,
        "email": order.email,
        "items": ordered,
        "shipped": sum(order.shipped_quantities().values()),
        "total": order.total.format(locale),
        "total_amount": order.total.to_text(),
        "refunded": order.refunded().format(locale) if order.refunded().amount else "",
        "session_id": order.session_id,
    }


def _day_text(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def shop_zone(backroom: BackRoom) -> dt.tzinfo:
    """The shop's time zone, in which the merchant reads and writes dates."""
    return _zone(backroom)


def local_time(moment: dt.datetime, zone: dt.tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
