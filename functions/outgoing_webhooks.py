"""Outgoing webhooks: what happened in the shop, POSTed as signed JSON to the addresses in
the shop's ``webhooks`` settings (Zapier, Make, an ERP). How to verify them: docs/webhooks.md.

An event (``order.paid``, ``order.shipped``, ``order.refunded``, ``order.cancelled``,
``stock.low``) is queued where it happens, once per (event, endpoint): its id is derived
from what it is about (the order's session, the shipment, the refund, the SKU and its
count), so a Stripe event delivered twice, a command run again or two passes at once
queue nothing more. ``stock.low`` is queued with the merchant's e-mail, by
``functions.stock_alerts`` (which says when a SKU counts as low). The store's delivery
queue (``Store.enqueue_delivery``) keeps it until an endpoint answers 2xx: a failure is
retried with the mail outbox's backoff (1, 2, 4 … minutes, then hourly, for about three
days), by the passes that send mail.

What the queue keeps is the event's envelope and references, never a person's data: the
order is read when the event is sent, so a customer forgotten meanwhile is not sent.

A supplier's order (``supplier.order``, queued by ``functions.suppliers``) travels the same
queue on its own channel: its target is the supplier's id, resolved to its ``webhook_url``
and ``secret_env`` when sent, and its data is that supplier's share of the order only
(``supplier_order_data``).

Signature: ``Comptoir-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
with the endpoint's secret (from the environment variable its ``secret_env`` names);
``Comptoir-Delivery: <event id>`` is the same on every attempt and every endpoint of an
event: receivers keep the ids they processed and ignore a repeat. A delivery is at least
once: the one window for a repeat is a sender stopping between the 2xx and the record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any

from functions.outbox import (
    DEFAULT_BACKOFF,
    DEFAULT_LEASE,
    DEFAULT_MAX_ATTEMPTS,
    Backoff,
    DeliveryReport,
)
from functions.settings import Secret
from functions.store import OutgoingDelivery, Store
from shop.config import Supplier
from shop.orders import Order, address_fields, not_to_supply
from shop.published import PublishedShop

log = logging.getLogger("comptoir.outgoing_webhooks")
CHANNEL = "webhook"
SUPPLIER_CHANNEL = "supplier"  # a supplier's order: the target is the supplier's id
SUPPLIER_EVENT = "supplier.order"
SIGNATURE_HEADER = "Comptoir-Signature"
DELIVERY_HEADER = "Comptoir-Delivery"
EVENT_HEADER = "Comptoir-Event"
TIMEOUT = 10.0  # seconds an endpoint has to answer
GONE = 410  # an endpoint that says it is gone for good (Zapier, once unsubscribed)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int  # the HTTP status, 0 when none came (refused, timed out)
    reason: str


Post = Callable[[str, bytes, Mapping[str, str]], Answer]


def post_json(url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
    """POST ``body`` to ``url`` with urllib, within ``TIMEOUT``; never raises."""
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))  # noqa: S310 (https, or http to this machine: checked in shop.config)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return Answer(response.status, str(response.reason))
    except urllib.error.HTTPError as error:
        return Answer(error.code, str(error.reason))
    except (urllib.error.URLError, OSError, ValueError) as error:
        return Answer(0, str(getattr(error, "reason", error)))


def event_id(event_type: str, about: str) -> str:
    """The event's id, the same whoever queues it and however often: ``evt_…``."""
    digest = hashlib.sha256(f"{event_type}:{about}".encode()).hexdigest()
    return f"evt_{digest[:32]}"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Comptoir-Signature`` header's value."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def queue_event(
    store: Store,
    shop: PublishedShop,
    event_type: str,
    about: str,
    refs: Mapping[str, Any],
    now: dt.datetime,
) -> int:
    """Queue ``event_type`` about ``about`` (e.g. the order's session and shipment number)
    for every endpoint that wants it, once; returns how many were queued by this call.

    ``refs`` says what the event is about (``{"session_id": …}`` for an order's events,
    the figures for ``stock.low``); the payload is completed when it is sent.
    """
    endpoints = [e for e in shop.config.webhooks if event_type in e.events]
    if not endpoints:
        return 0
    identifier = event_id(event_type, about)
    envelope = {
        "id": identifier,
        "type": event_type,
        "created": int(now.timestamp()),
        "refs": dict(refs),
    }
    body = json.dumps(envelope, sort_keys=True).encode()
    queued = 0
    for endpoint in endpoints:
        where = hashlib.sha256(endpoint.url.encode()).hexdigest()[:16]
        delivery = OutgoingDelivery(f"{CHANNEL}:{identifier}:{where}", CHANNEL, endpoint.url, body)
        queued += store.enqueue_delivery(delivery, now)
    return queued


def queue_order_event(
    store: Store, shop: PublishedShop, event_type: str, order: Order, about: str, now: dt.datetime
) -> int:
    """An order's event; ``about`` tells its occurrences apart (a shipment, a refund)."""
    return queue_event(
        store,
        shop,
        event_type,
        f"{order.session_id}:{about}",
        {"session_id": order.session_id},
        now,
    )


def payload(store: Store, envelope: Mapping[str, Any], supplier: Supplier | None = None) -> bytes:
    """The JSON sent: the envelope with ``data`` read now (the order as it stands; for a
    ``supplier``, its share of the order)."""
    refs = dict(envelope.get("refs") or {})
    data: dict[str, Any] = dict(refs)
    session = refs.get("session_id")
    if isinstance(session, str):
        order = store.get_order(session)
        if order is not None and supplier is not None:
            skus = {str(sku) for sku in refs.get("skus") or ()}
            data = {"order": supplier_order_data(order, supplier, skus)}
        elif order is not None:
            data = {"order": order_data(order)}
    sent = {k: v for k, v in envelope.items() if k != "refs"} | {"data": data}
    return json.dumps(sent, ensure_ascii=False, sort_keys=True).encode()


def order_data(order: Order) -> dict[str, Any]:
    priced = order.priced
    address = order.shipping_address
    return {
        "number": order.number,
        "session_id": order.session_id,
        "status": order.status.value,
        "created_at": order.created_at.isoformat(),
        "currency": order.currency,
        "total": order.total.amount,  # minor units (cents)
        "shipping": priced.delivery.price.amount,
        "delivery_method": priced.delivery.method,
        "email": order.email,
        "name": order.customer_name,
        "language": order.language,
        "shipping_address": None if address is None else address_fields(address),
        "lines": [
            {
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "unit_price": line.unit_price.amount,
                "discount": line.discount.amount,
                "total": line.total.amount,
                "tax_rate": str(line.tax_rate),
            }
            for line in priced.lines
        ],
        "shipments": [
            {
                "number": s.number,
                "carrier": s.carrier,
                "tracking": s.tracking,
                "url": s.tracking_url,
            }
            for s in order.shipments
        ],
        "refunded": order.refunded().amount,
    }


def supplier_order_data(order: Order, supplier: Supplier, skus: Set[str]) -> dict[str, Any]:
    """What a supplier is sent of an order: the number, the date, its lines (``skus``) and
    where they go; prices (minor units, VAT included) only with ``show_prices``; never
    the shopper's e-mail address nor the other lines."""
    priced = order.priced
    address = order.shipping_address
    lines: list[dict[str, Any]] = []
    for line in priced.lines:
        if line.sku not in skus:
            continue
        entry: dict[str, Any] = {"sku": line.sku, "title": line.title, "quantity": line.quantity}
        if supplier.show_prices:
            entry |= {"unit_price": line.unit_price.amount, "total": line.total.amount}
        lines.append(entry)
    data: dict[str, Any] = {
        "number": order.number,
        "created_at": order.created_at.isoformat(),
        "supplier": supplier.id,
        "name": order.customer_name,
        "pickup": priced.delivery.pickup,  # the shopper collects it at the shop
        "delivery_method": priced.delivery.label,
        "shipping_address": None if address is None else address_fields(address),
        "lines": lines,
    }
    if supplier.show_prices:
        data["currency"] = order.currency
    return data


def deliver_webhooks(
    store: Store,
    shop: PublishedShop,
    now: dt.datetime,
    secrets: Mapping[str, Secret],
    *,
    post: Post = post_json,
    lease: dt.timedelta = DEFAULT_LEASE,
    backoff: Backoff = DEFAULT_BACKOFF,
    limit: int = 20,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> DeliveryReport:
    """Send the due webhook deliveries, as ``outbox.deliver_due`` sends mail: claimed
    under a lease, marked sent on a 2xx, retried after ``backoff`` otherwise, given up
    after ``max_attempts`` or when the endpoint answers 410 or left the shop's settings."""
    started = time.monotonic()
    budget = lease.total_seconds() * 0.8
    sent = failed = dead = deferred = 0
    endpoints = {e.url: e.secret_env for e in shop.config.webhooks}
    for delivery in store.claim_due_deliveries(now, now + lease, limit):
        if time.monotonic() - started > budget:
            deferred += 1
            continue
        failures = delivery.attempts + 1
        supplier = None
        if delivery.channel == SUPPLIER_CHANNEL:
            supplier = shop.config.supplier(delivery.target)
            url = supplier.webhook_url if supplier else None
            secret_env = supplier.secret_env if supplier else None
        else:
            url = delivery.target if delivery.channel == CHANNEL else None
            secret_env = endpoints.get(delivery.target)
        if url is None or secret_env is None:
            store.mark_delivery_dead(
                delivery.key, "no such endpoint in the shop's settings any more", now
            )
            log.error(
                "webhook %s given up: %s left the shop's settings", delivery.key, delivery.target
            )
            dead += 1
            continue
        if supplier is not None:  # an order cancelled or refunded meanwhile is not sent
            refs = json.loads(delivery.body).get("refs") or {}
            withdrawn = not_to_supply(store.get_order(str(refs.get("session_id"))))
            if withdrawn is not None:
                store.mark_delivery_dead(delivery.key, withdrawn, now)
                log.warning("supplier order %s: %s", delivery.key, withdrawn)
                dead += 1
                continue
        secret = secrets.get(secret_env)
        if not secret:
            problem = f"{secret_env} is not set: the webhook cannot be signed"
            answer = Answer(0, problem)
        else:
            envelope = json.loads(delivery.body)
            body = payload(store, envelope, supplier)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "comptoir-webhooks/1",
                SIGNATURE_HEADER: signature(secret.reveal(), int(now.timestamp()), body),
                DELIVERY_HEADER: str(envelope["id"]),
                EVENT_HEADER: str(envelope["type"]),
            }
            answer = post(url, body, headers)
        if 200 <= answer.status < 300:
            store.mark_delivery_sent(delivery.key, now)
            sent += 1
            continue
        error = f"HTTP {answer.status} {answer.reason}" if answer.status else answer.reason
        if answer.status == GONE or failures >= max_attempts:
            store.mark_delivery_dead(delivery.key, error, now)
            log.error("webhook %s given up after %d attempt(s): %s", delivery.key, failures, error)
            dead += 1
            continue
        retry_at = now + backoff(failures)
        store.mark_delivery_failed(delivery.key, error, retry_at)
        log.warning(
            "webhook %s to %s not delivered (attempt %d), retry at %s: %s",
            delivery.key,
            delivery.target,
            failures,
            retry_at.isoformat(),
            error,
        )
        failed += 1
    return DeliveryReport(sent=sent, failed=failed, dead=dead, deferred=deferred)
