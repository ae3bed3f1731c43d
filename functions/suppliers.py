"""Suppliers (dropshipping, made to order): each paid order's lines that a supplier fulfils
are sent to it, once per (order, supplier), by e-mail or as a signed webhook.

Who fulfils a line is its product's ``supplier`` in the published shop (the settings'
``suppliers``); lines without one are the shop's. A supplier receives the order's number
and date, its own lines only (SKU, title, quantity), the shopper's name and where the
parcel goes (or that the shopper collects it at the shop) — never the other lines, never
the shopper's e-mail address (the shop stays the one who talks to its customer), and the
prices only with ``show_prices: true``.

Only a paid order is sent: a pending one (SEPA) waits until it clears, an oversold one
until the merchant accepts it (``functions.backroom.orders.accept``), and an order
refunded, cancelled or failed first is never sent. Both paths call
``queue_supplier_orders``, whose keys (``supplier:<id>:<session>`` for the mail, the
event id of ``supplier.order`` about the session and supplier for the webhook) make a
redelivered Stripe event or a command run twice queue nothing more.

The e-mail is rendered when queued, like the shop's other mails, and filed under the
shopper (``about``) so forgetting them empties it. The webhook's queue keeps references
only (the session, the supplier, its SKUs): the order is read when it is sent
(``functions.outgoing_webhooks``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from functions.emails import InvalidAddress, supplier_mail_key, supplier_order_email
from functions.outgoing_webhooks import SUPPLIER_CHANNEL, SUPPLIER_EVENT, event_id
from functions.store import OutgoingDelivery, Store
from shop.config import Supplier
from shop.orders import Order, OrderLine, OrderStatus
from shop.published import PublishedShop

log = logging.getLogger("comptoir.suppliers")


@dataclass(frozen=True, slots=True)
class SupplierShare:
    """The lines of one order that one supplier fulfils."""

    supplier: Supplier
    lines: tuple[OrderLine, ...]


@dataclass(frozen=True, slots=True)
class SupplierNotice:
    """How one supplier is (or is not yet) told of an order: by ``channel`` ("email" or
    "webhook"); ``queued`` False when nothing was queued (the order is not paid yet)."""

    supplier: Supplier
    channel: str
    queued: bool
    sent_at: dt.datetime | None = None
    attempts: int = 0
    last_error: str | None = None


def shares(order: Order, shop: PublishedShop) -> list[SupplierShare]:
    """The order's lines per supplier, in the order of the shop settings' ``suppliers``."""
    by_supplier: dict[str, list[OrderLine]] = {}
    found = shop.suppliers_by_sku(order.priced.lines)
    for line in order.priced.lines:
        supplier = found.get(line.sku)
        if supplier is not None:
            by_supplier.setdefault(supplier.id, []).append(line)
    return [
        SupplierShare(supplier, tuple(by_supplier[supplier.id]))
        for supplier in shop.config.suppliers
        if supplier.id in by_supplier
    ]


def delivery_key(order: Order, supplier: Supplier) -> str:
    identifier = event_id(SUPPLIER_EVENT, f"{order.session_id}:{supplier.id}")
    return f"{SUPPLIER_CHANNEL}:{identifier}"


def queue_supplier_orders(
    store: Store, shop: PublishedShop, order: Order, now: dt.datetime
) -> list[str]:
    """Queue each supplier's order (its e-mail, its webhook, or both), once; returns the
    keys queued by this call. Nothing for an order that is not paid."""
    if order.status != OrderStatus.PAID:
        return []
    for sku, supplier_id in shop.unknown_suppliers(order.priced.lines).items():
        log.error(  # the merchant's e-mail and `orders show` show the line as theirs to handle
            "order %s: %s is fulfilled by supplier %r, no longer in the settings: not sent",
            order.number,
            sku,
            supplier_id,
        )
    queued: list[str] = []
    for share in shares(order, shop):
        supplier = share.supplier
        if supplier.email:
            try:
                mail = supplier_order_email(order, supplier, share.lines, shop)
            except InvalidAddress as error:  # the settings check it: not expected
                log.error(
                    "order %s: no e-mail to supplier %s: %s", order.number, supplier.id, error
                )
            else:
                if store.enqueue_mail(mail, now):
                    queued.append(mail.key)
        if supplier.webhook_url:
            key = delivery_key(order, supplier)
            envelope = {
                "id": key.removeprefix(f"{SUPPLIER_CHANNEL}:"),
                "type": SUPPLIER_EVENT,
                "created": int(now.timestamp()),
                "refs": {
                    "session_id": order.session_id,
                    "supplier": supplier.id,
                    "skus": [line.sku for line in share.lines],
                },
            }
            body = json.dumps(envelope, sort_keys=True).encode()
            delivery = OutgoingDelivery(key, SUPPLIER_CHANNEL, supplier.id, body)
            if store.enqueue_delivery(delivery, now):
                queued.append(key)
    if queued:
        log.info("order %s: %d supplier order(s) queued", order.number, len(queued))
    return queued


def notices(store: Store, shop: PublishedShop, order: Order) -> list[SupplierNotice]:
    """What each supplier of the order was sent, as the outbox and delivery queue say."""
    result: list[SupplierNotice] = []
    for share in shares(order, shop):
        supplier = share.supplier
        if supplier.email:
            mail = store.get_mail(supplier_mail_key(order, supplier))
            result.append(
                SupplierNotice(supplier, "email", False)
                if mail is None
                else SupplierNotice(
                    supplier, "email", True, mail.sent_at, mail.attempts, mail.last_error
                )
            )
        if supplier.webhook_url:
            sent = store.get_delivery(delivery_key(order, supplier))
            result.append(
                SupplierNotice(supplier, "webhook", False)
                if sent is None
                else SupplierNotice(
                    supplier, "webhook", True, sent.sent_at, sent.attempts, sent.last_error
                )
            )
    return result
