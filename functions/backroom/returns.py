"""Returns and withdrawal: open a return within the legal period, receive it (restock and
refund, the initial delivery included when the whole order came back).

The law's dates and amounts are ``shop.returns``'. An order counts as delivered on the
day given (``--delivered``), else on the day it was shipped or placed plus the usual
transit (``shop.returns.delivered_on``): orders do not record their delivery yet.

Every operation is safe to run again: a return is created once per id, received once
(compare-and-set on its status), restocked once per return, and refunded under an
idempotency key of its own. Its refund is recorded on the order first, as the refunds
of ``comptoir orders refund`` are, and reduced to what the order has left to refund:
together they never pay back more than was paid (the return's history says so when
its amount was reduced).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, replace

from functions.backroom.context import BackRoom, OperationError
from functions.backroom.orders import ask_refund, find_order
from functions.errors import PaymentError
from functions.payments import RefundRefused
from shop.money import Money
from shop.orders import Order, Refund, RefundState
from shop.returns import (
    RETURNABLE,
    ReturnEvent,
    ReturnLine,
    ReturnRequest,
    ReturnSource,
    ReturnStatus,
    delivered_on,
    refund_deadline,
    refund_for,
    request_deadline,
)

MAX_RETURNS_PER_ORDER = 50


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """A withdrawal as the shopper declared it, and whether this declaration recorded it
    (False: it was already recorded, e.g. a replayed confirmation)."""

    ret: ReturnRequest
    order: Order
    created: bool


def check_returnable(backroom: BackRoom, order: Order, delivered: dt.date | None = None) -> dt.date:
    """The day the order counts as delivered (the period runs from it); raises
    OperationError when the order cannot come back (not paid, cancelled, refunded) or
    its withdrawal period is over."""
    if order.status not in RETURNABLE:
        raise OperationError(
            "order_not_returnable",
            f"Order {order.number} is {order.status}: only paid or shipped orders are returned.",
        )
    day = delivered_on(order, _zone(backroom), delivered)
    deadline = request_deadline(day)
    if backroom.shop().today(backroom.now()) > deadline:
        raise OperationError(
            "withdrawal_period_over",
            f"The withdrawal period of order {order.number} ended on {deadline.isoformat()} "
            f"(14 days after its delivery on {day.isoformat()}).",
        )
    return day


def open_return(
    backroom: BackRoom,
    reference: str,
    quantities: Mapping[str, int] | None = None,
    *,
    delivered: dt.date | None = None,
    note: str = "opened by the merchant",
) -> ReturnRequest:
    """Record that the goods ``quantities`` (SKU -> units; None: all not yet returned) of
    an order come back, within 14 days of its delivery."""
    order = find_order(backroom, reference)
    day = check_returnable(backroom, order, delivered)
    earlier = backroom.store.list_returns(order.session_id, limit=MAX_RETURNS_PER_ORDER)
    lines = _lines(order, quantities, earlier)
    for attempt in range(len(earlier) + 1, MAX_RETURNS_PER_ORDER + 1):
        rid = f"{order.number}-R{attempt}"
        ret = _new_return(backroom, order, rid, ReturnSource.MERCHANT, lines, day, note)
        if backroom.store.create_return(ret):
            return ret
    raise OperationError("too_many_returns", f"Order {order.number} has too many returns.")


def withdraw(backroom: BackRoom, order: Order, name: str, address: str) -> Withdrawal:
    """The shopper's withdrawal from the whole order (what is not already coming back),
    recorded once per order: declaring it again answers the first declaration."""
    rid = f"{order.number}-W"
    existing = backroom.store.get_return(rid)
    if existing is not None:
        return Withdrawal(existing, order, created=False)
    day = check_returnable(backroom, order)
    earlier = backroom.store.list_returns(order.session_id, limit=MAX_RETURNS_PER_ORDER)
    lines = _lines(order, None, earlier)
    note = "withdrawal declared on the site"
    ret = _new_return(backroom, order, rid, ReturnSource.WITHDRAWAL, lines, day, note)
    ret = replace(ret, contact_name=name, contact_address=address)
    if backroom.store.create_return(ret):
        return Withdrawal(ret, order, created=True)
    stored = backroom.store.get_return(rid)  # declared twice at once: the first one stands
    assert stored is not None
    return Withdrawal(stored, order, created=False)


def receive_return(backroom: BackRoom, rid: str) -> ReturnRequest:
    """The goods of return ``rid`` are back: restock them and refund what they cost (the
    delivery too once the whole order is back). Running it again finishes what a failed
    run left (a refund Stripe refused) and never restocks or refunds twice."""
    ret = get_return(backroom, rid)
    if ret.status == ReturnStatus.REFUNDED:
        return ret
    backroom.require_payments()  # before changing anything
    store = backroom.store
    checkout = store.get_checkout(ret.session_id)
    order = store.get_order(ret.session_id)
    if order is None or checkout is None or checkout.payment_intent is None:
        raise OperationError(
            "no_payment", f"Order {ret.order_number} has no recorded payment to refund."
        )
    now = backroom.now()
    if ret.status == ReturnStatus.REQUESTED:
        today = backroom.shop().today(now)
        received = ret.moved(
            ReturnStatus.RECEIVED,
            "goods received and restocked",
            now,
            received_at=now,
            refund_deadline=refund_deadline(today),
        )
        if not store.update_return(received, ReturnStatus.REQUESTED):
            return receive_return(backroom, rid)  # received meanwhile: carry on from there
        ret = received
    store.restock(f"return:{rid}", checkout.hold_key, _quantities(ret))
    owed = refund_for(order, ret.lines, whole_order=_completes_order(backroom, order, ret))
    order, refund = _record_refund(backroom, ret, owed, now)
    amount = Money(0, owed.currency) if refund is None else refund.amount
    refund_id = None
    if refund is not None:
        try:
            order = ask_refund(backroom, checkout.payment_intent, order, refund)
        except RefundRefused as error:
            raise OperationError(
                "refund_failed",
                f"The goods of {rid} are received and restocked, but Stripe refused the "
                f"refund: {error} Run `comptoir returns receive {rid}` again to refund.",
            ) from None
        except PaymentError as error:
            raise OperationError(
                "refund_failed",
                f"The goods of {rid} are received and restocked, but the refund failed: "
                f"{error} Run `comptoir returns receive {rid}` again to refund.",
            ) from None
        refund_id = next(r for r in order.refunds if r.key == refund.key).refund_id
    note = f"refunded {amount.to_text()} {amount.currency}" + (
        f" ({refund_id})" if refund_id else ""
    )
    if amount.amount < owed.amount:
        already = order.total.amount - order.refundable().amount - (amount.amount)
        note += (
            f"; reduced from {owed.to_text()} {owed.currency}: "
            f"{Money(already, owed.currency).to_text()} of the order's "
            f"{order.total.to_text()} was already refunded or being refunded"
        )
    refunded = ret.moved(
        ReturnStatus.REFUNDED,
        note,
        backroom.now(),
        refund_amount=amount,
        refund_id=refund_id,
    )
    if not store.update_return(refunded, ReturnStatus.RECEIVED):
        return get_return(backroom, rid)  # another run refunded it (same idempotency key)
    return refunded


def _record_refund(
    backroom: BackRoom, ret: ReturnRequest, owed: Money, now: dt.datetime
) -> tuple[Order, Refund | None]:
    """The return's refund, recorded on the order before Stripe is asked (as
    ``orders refund`` records its own), so the two never pay back more than was paid:
    ``owed``, reduced to what the order has left to refund (its total less every refund
    made or asked, in one ``update_order``). Recorded once: running again finds it
    (None: nothing was left to refund). One Stripe refused is asked again, anew."""
    base = f"return:{ret.rid}"

    def mine(order: Order) -> list[Refund]:
        return [r for r in order.refunds if r.key.split(".", 1)[0] == base]

    def record(order: Order) -> Order:
        tries = mine(order)
        if any(r.state != RefundState.FAILED for r in tries):
            return order
        amount = min(owed.amount, order.refundable().amount)
        if amount <= 0:
            return order  # all was refunded already: the return says so
        refund = Refund(
            key=base if not tries else f"{base}.{len(tries)}",
            amount=Money(amount, owed.currency),
            lines=(),  # its units came back: they are not "refunded, never sent"
            restock=False,  # the return restocks them itself
            cancel=False,
            state=RefundState.REQUESTED,
            requested_at=now,
            requested_by=f"return {ret.rid}",
        )
        note = f"refund of {refund.amount.to_text()} {order.currency} asked (return {ret.rid})"
        return replace(order, refunds=(*order.refunds, refund)).noted(note, now)

    order = backroom.store.update_order(ret.session_id, record)
    live = [r for r in mine(order) if r.state != RefundState.FAILED]
    return order, (live[0] if live else None)


def get_return(backroom: BackRoom, rid: str) -> ReturnRequest:
    ret = backroom.store.get_return(rid.strip().upper())
    if ret is None:
        raise OperationError("return_not_found", f"No return {rid}: see `comptoir returns list`.")
    return ret


def list_returns(backroom: BackRoom, reference: str | None = None) -> list[ReturnRequest]:
    """Newest first: every return, or one order's."""
    if reference is None:
        return backroom.store.list_returns()
    order = find_order(backroom, reference)
    return backroom.store.list_returns(order.session_id)


# -- internals ------------------------------------------------------------------------


def _new_return(
    backroom: BackRoom,
    order: Order,
    rid: str,
    source: ReturnSource,
    lines: tuple[ReturnLine, ...],
    delivered: dt.date,
    note: str,
) -> ReturnRequest:
    now = backroom.now()
    return ReturnRequest(
        rid=rid,
        session_id=order.session_id,
        order_number=order.number,
        source=source,
        status=ReturnStatus.REQUESTED,
        created_at=now,
        lines=lines,
        delivered_on=delivered,
        request_deadline=request_deadline(delivered),
        contact_name=order.customer_name,
        history=(ReturnEvent(now, ReturnStatus.REQUESTED, note),),
    )


def _lines(
    order: Order, quantities: Mapping[str, int] | None, earlier: list[ReturnRequest]
) -> tuple[ReturnLine, ...]:
    """The lines asked for, checked against what the order holds and already comes back."""
    ordered = {line.sku: line for line in order.priced.lines}
    returned: dict[str, int] = {}
    for ret in earlier:
        for line in ret.lines:
            returned[line.sku] = returned.get(line.sku, 0) + line.quantity
    left = {sku: line.quantity - returned.get(sku, 0) for sku, line in ordered.items()}
    wanted = {s: q for s, q in left.items() if q > 0} if quantities is None else dict(quantities)
    if not wanted:
        raise OperationError(
            "nothing_to_return", f"Every item of order {order.number} is already coming back."
        )
    for sku, quantity in wanted.items():
        if sku not in ordered:
            skus = ", ".join(ordered)
            raise OperationError(
                "unknown_line", f"Order {order.number} has no {sku}: its lines are {skus}."
            )
        if quantity < 1 or quantity > left[sku]:
            raise OperationError(
                "too_many_units",
                f"{sku}: {quantity} units asked, {left[sku]} of {ordered[sku].quantity} "
                "can still come back.",
            )
    return tuple(ReturnLine(sku, ordered[sku].title, q) for sku, q in wanted.items())


def _quantities(ret: ReturnRequest) -> dict[str, int]:
    return {line.sku: line.quantity for line in ret.lines}


def _completes_order(backroom: BackRoom, order: Order, ret: ReturnRequest) -> bool:
    """Whether receiving ``ret`` brings every unit of the order back (then the initial
    delivery is refunded, once: by the return received last)."""
    back = sum(line.quantity for line in ret.lines)
    for other in backroom.store.list_returns(order.session_id, limit=MAX_RETURNS_PER_ORDER):
        if other.rid != ret.rid and other.status != ReturnStatus.REQUESTED:
            back += sum(line.quantity for line in other.lines)
    return back >= sum(line.quantity for line in order.priced.lines)


def _zone(backroom: BackRoom) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(backroom.shop().config.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC
