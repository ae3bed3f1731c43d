"""Stripe webhook events -> orders, stock and e-mails, exactly once.

Every step is idempotent (conditional writes keyed on the checkout session),
so a retried, duplicated or reordered event never counts twice, and a replay
days later creates nothing. Event ids are recorded once processed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from functions.backroom.invoices import invoice_attachments, issue_credit_notes
from functions.checkout import promo_of, release_code
from functions.errors import PaymentError
from functions.outbox import queue_apology, queue_order_emails
from functions.outgoing_webhooks import queue_order_event
from functions.refunds import settle_refunds
from functions.stock_alerts import alert_low_stock
from functions.store import Checkout, Store
from functions.suppliers import queue_supplier_orders
from shop.orders import Address, Order, OrderEvent, OrderStatus
from shop.published import PublishedShop

if TYPE_CHECKING:
    from functions.payments import StripePayments

log = logging.getLogger("comptoir.webhooks")


@dataclass
class Services:
    """What handling one event needs: the published shop it is handled with, the store,
    and the payments (to refund an oversold order when the shop's policy says so)."""

    shop: PublishedShop
    store: Store
    payments: StripePayments | None = None
    event_id: str = ""  # the event being handled (set by handle_event), for histories


Handler = Callable[[Services, Mapping[str, Any], dt.datetime], str]


class RetryLater(Exception):
    """The event arrived before what it depends on: answer 5xx so Stripe sends it again."""


def order_number(session_id: str, created: dt.datetime) -> str:
    digest = hashlib.sha256(session_id.encode()).hexdigest()[:6].upper()
    return f"CT-{created:%Y%m%d}-{digest}"


def _address(session: Mapping[str, Any]) -> Address | None:
    details = session.get("shipping_details") or (
        (session.get("collected_information") or {}).get("shipping_details")
    )
    if not details or not details.get("address"):
        return None
    address = details["address"]
    return Address(
        name=str(details.get("name") or ""),
        line1=str(address.get("line1") or ""),
        line2=str(address.get("line2") or ""),
        postal_code=str(address.get("postal_code") or ""),
        city=str(address.get("city") or ""),
        country=str(address.get("country") or ""),
    )


def build_order(
    checkout: Checkout,
    session: Mapping[str, Any],
    status: OrderStatus,
    now: dt.datetime,
    language: str,
    note: str = "",
) -> Order:
    """The order for a paid (or pending) session: the priced order the checkout stored,
    and who bought it and where it goes from the Stripe session; its history starts
    with ``note``, the event that created it."""
    customer = session.get("customer_details") or {}
    priced = checkout.priced
    return Order(
        session_id=checkout.session_id,
        number=order_number(checkout.session_id, checkout.created_at),
        status=status,
        created_at=now,
        email=str(customer.get("email") or ""),
        customer_name=str(customer.get("name") or ""),
        language=language,
        priced=priced,
        shipping_address=None if priced.delivery.pickup else _address(session),
        marketing_consent=(session.get("consent") or {}).get("promotions") == "opt_in",
        history=(OrderEvent(now, status, note),) if note else (),
    )


def _record(
    services: Services,
    checkout: Checkout,
    session: Mapping[str, Any],
    status: OrderStatus,
    note: str,
    now: dt.datetime,
) -> Order:
    """Create the order if needed, else move it to ``status`` when that is allowed."""
    store = services.store
    language = services.shop.config.language
    if str(session.get("locale") or "").startswith("en"):
        language = "en"
    order = build_order(checkout, session, status, now, language, note)
    charged = session.get("amount_total")
    if charged is not None and int(charged) != order.total.amount:
        log.error(
            "session %s charged %s but the quote says %s",
            checkout.session_id,
            charged,
            order.total.amount,
        )
    if store.create_order(order):
        return order
    existing = store.get_order(checkout.session_id)
    assert existing is not None
    if existing.status == OrderStatus.PENDING and status in (OrderStatus.PAID, OrderStatus.FAILED):
        return store.set_order_status(checkout.session_id, status, note, now)
    return existing


def _checkout_for(services: Services, session: Mapping[str, Any]) -> Checkout | None:
    checkout = services.store.get_checkout(str(session.get("id")))
    if checkout is None:
        log.warning("event for an unknown checkout session %s: ignored", session.get("id"))
    return checkout


def _settle(
    services: Services,
    checkout: Checkout,
    order: Order,
    session: Mapping[str, Any],
    now: dt.datetime,
) -> Order:
    """Make stock, codes, customer and mail agree with the order's status (idempotent);
    returns the order, marked oversold if its late payment sold units it had lost."""
    store = services.store
    if session.get("payment_intent"):
        store.set_checkout_payment(checkout.session_id, str(session["payment_intent"]))
    if order.status in (
        OrderStatus.PAID,
        OrderStatus.PENDING,
        OrderStatus.FULFILLED,
        OrderStatus.OVERSOLD,
    ):
        store.commit_reservation(checkout.hold_key, now)
        promo = promo_of(checkout)
        if promo:
            store.count_code_use(promo, checkout.hold_key)  # the checkout's claim
        order = _mark_oversold(store, checkout, order, now)
        invoices = invoice_attachments(store, services.shop, order, now)  # issued once paid
        if order.email:
            store.record_customer(order.email, order.customer_name, order.marketing_consent, now)
        queue_order_emails(store, order, services.shop, now, invoices)
        if order.status != OrderStatus.PENDING:  # money received: once per order
            queue_order_event(store, services.shop, "order.paid", order, "paid", now)
            queue_supplier_orders(store, services.shop, order, now)  # paid, not oversold
            alert_low_stock(store, services.shop, [line.sku for line in order.priced.lines], now)
        _refund_oversold(services, checkout, order, session, now)
    elif order.status == OrderStatus.FAILED:
        store.cancel_sale(checkout.hold_key)
        store.release_reservation(checkout.hold_key)
        release_code(store, promo_of(checkout), checkout.hold_key)
        queue_order_emails(store, order, services.shop, now)
    return order


def _mark_oversold(store: Store, checkout: Checkout, order: Order, now: dt.datetime) -> Order:
    """A paid order whose sale took units beyond the stock (its hold had lapsed and
    another shopper bought or holds them) becomes oversold, once: a merchant who then
    decides to ship it (back to paid) is not overruled by a redelivered event."""
    if order.status != OrderStatus.PAID or any(
        event.status == OrderStatus.OVERSOLD for event in order.history
    ):
        return order
    short = store.oversold(checkout.hold_key)
    if not short:
        return order
    note = "oversold: " + ", ".join(f"{sku} x{units}" for sku, units in short.items())
    log.warning("order %s %s", order.number, note)
    return store.set_order_status(checkout.session_id, OrderStatus.OVERSOLD, note, now)


def _refund_oversold(
    services: Services,
    checkout: Checkout,
    order: Order,
    session: Mapping[str, Any],
    now: dt.datetime,
) -> None:
    """With ``oversold: refund``, refund an oversold order in full (once: keyed on its
    session), put its units back, and send the shopper an apology. The order becomes
    refunded when Stripe's ``charge.refunded`` arrives. A refusal is retried with the event."""
    if order.status != OrderStatus.OVERSOLD or services.shop.config.oversold != "refund":
        return
    payment = session.get("payment_intent") or checkout.payment_intent
    if services.payments is None or not payment:
        log.error("oversold order %s not refunded: no payment to refund", order.number)
        return
    try:
        services.payments.refund(
            str(payment), order.total.amount, f"oversold:{checkout.session_id}"
        )
    except PaymentError as error:
        raise RetryLater(f"refund of oversold order {order.number}: {error}") from error
    services.store.cancel_sale(checkout.hold_key)
    queue_apology(services.store, order, services.shop, now)


def _apply(
    services: Services, session: Mapping[str, Any], status: OrderStatus, note: str, now: dt.datetime
) -> str:
    checkout = _checkout_for(services, session)
    if checkout is None:
        return "unknown session"
    note = f"stripe {note} {services.event_id}".rstrip()  # who caused it, for the history
    order = _record(services, checkout, session, status, note, now)
    order = _settle(services, checkout, order, session, now)
    return f"order {order.number} {order.status}"


def on_session_completed(services: Services, session: Mapping[str, Any], now: dt.datetime) -> str:
    """Paid now (card), or pending until an asynchronous method (SEPA) clears."""
    paid = session.get("payment_status") in ("paid", "no_payment_required")
    status = OrderStatus.PAID if paid else OrderStatus.PENDING
    return _apply(services, session, status, "checkout.session.completed", now)


def on_async_succeeded(services: Services, session: Mapping[str, Any], now: dt.datetime) -> str:
    return _apply(
        services, session, OrderStatus.PAID, "checkout.session.async_payment_succeeded", now
    )


def on_async_failed(services: Services, session: Mapping[str, Any], now: dt.datetime) -> str:
    return _apply(
        services, session, OrderStatus.FAILED, "checkout.session.async_payment_failed", now
    )


def on_session_expired(services: Services, session: Mapping[str, Any], now: dt.datetime) -> str:
    checkout = _checkout_for(services, session)
    if checkout is None:
        return "unknown session"
    released = services.store.release_reservation(checkout.hold_key)
    if services.store.get_order(checkout.session_id) is None:  # it ended unpaid
        release_code(services.store, promo_of(checkout), checkout.hold_key)
    return "hold released" if released else "nothing to release"


def on_charge_refunded(services: Services, charge: Mapping[str, Any], now: dt.datetime) -> str:
    """The order, stock and refund e-mails follow the charge's refunds (functions.refunds)."""
    payment = charge.get("payment_intent")
    checkout = services.store.find_checkout_by_payment(str(payment)) if payment else None
    if checkout is None:
        return "refund of an unknown payment"
    order = services.store.get_order(checkout.session_id)
    if order is None:
        # The payment's own event has not landed yet: fail, so Stripe retries this later.
        raise RetryLater(f"refund of {checkout.session_id} before its order")
    cause = f"stripe charge.refunded {services.event_id}".rstrip()
    amount = int(charge.get("amount_refunded") or 0)
    issue_credit_notes(services.store, services.shop, order, amount, now)  # idempotent
    order = settle_refunds(services.store, services.shop, checkout, amount, cause, now)
    return f"order {order.number} {order.status}"


EVENT_HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": on_session_completed,
    "checkout.session.async_payment_succeeded": on_async_succeeded,
    "checkout.session.async_payment_failed": on_async_failed,
    "checkout.session.expired": on_session_expired,
    "charge.refunded": on_charge_refunded,
}


def handle_event(
    services: Services, event_id: str, event_type: str, obj: Mapping[str, Any], now: dt.datetime
) -> str:
    """Process one verified event; raises so the caller answers 5xx and Stripe retries.

    Every step is idempotent, so the event is processed on every delivery and
    recorded as seen only once it succeeded: a crash half-way leaves it to the
    retry instead of marking it done.
    """
    handler = EVENT_HANDLERS.get(event_type)
    if handler is None:
        return "ignored"
    outcome = handler(replace(services, event_id=event_id), obj, now)
    first = services.store.claim_event(event_id, now)
    return outcome if first else f"{outcome} (replayed)"
