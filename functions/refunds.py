"""Refunds reach the order from Stripe's ``charge.refunded`` event, and only from it.

The back room records a refund on the order (``Refund``, state ``requested``) before it
asks Stripe, with an idempotency key that makes asking again refund once. Stripe's
event then says how much of the charge is refunded in all (``amount_refunded``, which
only grows); ``settle_refunds`` counts the requested refunds, oldest first, into that
amount: each one counted becomes ``refunded`` and moves the order (``refunded`` when
nothing is left, else ``partially_refunded``; ``cancelled`` for a cancellation's
refund) along TRANSITIONS. What no recorded refund explains (a refund made in Stripe's
dashboard) is recorded as such. A later event with a smaller amount (events come in any
order) changes nothing.

Then, for every refund counted (this time or before: all of it is idempotent, so a
retried event finishes what a crash left), its units go back on the shelf when asked
(``Store.restock``, keyed by the refund) and the shopper's refund e-mail is queued
once (keyed by the refund).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

from functions.emails import InvalidAddress, refund_email
from functions.outgoing_webhooks import queue_order_event
from functions.store import Checkout, Store
from shop.money import Money
from shop.orders import (
    TRANSITIONS,
    InvalidTransition,
    Order,
    OrderStatus,
    Refund,
    RefundState,
)
from shop.published import PublishedShop

log = logging.getLogger("comptoir.refunds")
OUTSIDE = "outside:"  # keys of refunds made outside comptoir (Stripe's dashboard)


def settle_refunds(
    store: Store,
    shop: PublishedShop,
    checkout: Checkout,
    amount_refunded: int,
    cause: str,
    now: dt.datetime,
) -> Order:
    """Count ``amount_refunded`` (minor units, all refunds of the charge) into the order of
    ``checkout``; ``cause`` says what told us (e.g. "stripe charge.refunded evt_…")."""

    def count(order: Order) -> Order:
        return counted(order, amount_refunded, cause, now)

    order = store.update_order(checkout.session_id, count)
    # An oversold order the shop refunded by policy: its apology already says so.
    apologised = shop.config.oversold == "refund" and any(
        event.status == OrderStatus.OVERSOLD for event in order.history
    )
    if order.status == OrderStatus.CANCELLED:
        queue_order_event(store, shop, "order.cancelled", order, "cancelled", now)
    for refund in order.refunds:
        if refund.state != RefundState.REFUNDED:
            continue
        queue_order_event(store, shop, "order.refunded", order, f"refund:{refund.key}", now)
        if refund.restock and refund.lines:
            units = {line.sku: line.quantity for line in refund.lines}
            store.restock(f"refund:{refund.key}", checkout.hold_key, units)
        if apologised and refund.key.startswith(OUTSIDE):
            continue
        if refund.amount.amount and order.email:
            try:
                store.enqueue_mail(refund_email(order, refund, shop), now)
            except InvalidAddress as error:
                log.warning("order %s: no refund e-mail: %s", order.number, error)
    return order


def counted(order: Order, amount_refunded: int, cause: str, now: dt.datetime) -> Order:
    """``order`` with its requested refunds counted into ``amount_refunded``."""
    missing = amount_refunded - order.refunded().amount
    if missing <= 0:
        return order  # counted already (a replay, or an older event after a newer one)
    refunds = list(order.refunds)
    newly: list[Refund] = []
    for index, refund in enumerate(refunds):
        if refund.state == RefundState.REQUESTED and refund.amount.amount <= missing:
            refunds[index] = replace(
                refund, state=RefundState.REFUNDED, settled_at=now, settled_by=cause
            )
            newly.append(refunds[index])
            missing -= refund.amount.amount
    if missing > 0:
        outside = Refund(
            key=f"{OUTSIDE}{cause}",
            amount=Money(missing, order.currency),
            lines=(),
            restock=False,
            cancel=False,
            state=RefundState.REFUNDED,
            requested_at=now,
            requested_by="outside comptoir (Stripe's dashboard?)",
            settled_at=now,
            settled_by=cause,
        )
        refunds.append(outside)
        newly.append(outside)
    changed = replace(order, refunds=tuple(refunds))
    for refund in newly:
        amount = refund.amount.to_text()
        changed = _moved(
            changed,
            _status_after(changed, refund),
            f"refunded {amount} {order.currency} ({cause}; asked by {refund.requested_by})",
            now,
        )
    return changed


def _status_after(order: Order, refund: Refund) -> OrderStatus:
    if refund.cancel and OrderStatus.CANCELLED in TRANSITIONS[order.status]:
        return OrderStatus.CANCELLED
    if order.status == OrderStatus.CANCELLED and refund.cancel:
        return OrderStatus.CANCELLED
    if order.refunded().amount >= order.total.amount:
        return OrderStatus.REFUNDED
    return OrderStatus.PARTIALLY_REFUNDED


def _moved(order: Order, status: OrderStatus, note: str, at: dt.datetime) -> Order:
    """The move, or the note alone when the status stays (or may not move there)."""
    if status == order.status:
        return order.noted(note, at)
    try:
        return order.moved(status, note, at)
    except InvalidTransition:
        log.error(
            "order %s: %s -> %s refused; refund noted only", order.number, order.status, status
        )
        return order.noted(note, at)
