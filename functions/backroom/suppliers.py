"""Suppliers in the back room: who fulfils each line of an order, and what each supplier
was sent (``functions.suppliers`` queues it; the outbox and delivery queue say whether
it left)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from functions.backroom.context import BackRoom
from functions.suppliers import SupplierNotice, notices
from shop.orders import Order


@dataclass(frozen=True, slots=True)
class Fulfilment:
    """Who fulfils an order's lines (SKU -> supplier name; the others are the shop's) and
    how each supplier was told."""

    by_sku: dict[str, str]
    notices: tuple[SupplierNotice, ...]


def fulfilment(backroom: BackRoom, order: Order) -> Fulfilment:
    shop = backroom.shop()
    lines = order.priced.lines
    by_sku = {sku: supplier.name for sku, supplier in shop.suppliers_by_sku(lines).items()}
    for sku, supplier_id in shop.unknown_suppliers(lines).items():
        by_sku[sku] = f"{supplier_id} (no longer in the settings: tell them yourself)"
    return Fulfilment(by_sku, tuple(notices(backroom.store, shop, order)))


def notice_state(notice: SupplierNotice) -> str:
    """ "sent", "queued" (not yet, or retrying), or "not sent" (nothing queued: the order
    is not paid, or waits for the merchant)."""
    if not notice.queued:
        return "not sent"
    return "sent" if notice.sent_at is not None else "queued"


def fulfilment_json(fulfilment: Fulfilment) -> dict[str, Any]:
    """What ``orders show --json`` adds: ``fulfilled_by`` per SKU and ``suppliers``."""

    def moment(at: dt.datetime | None) -> str | None:
        return None if at is None else at.isoformat()

    return {
        "fulfilled_by": dict(fulfilment.by_sku),
        "suppliers": [
            {
                "id": n.supplier.id,
                "name": n.supplier.name,
                "channel": n.channel,
                "state": notice_state(n),
                "sent_at": moment(n.sent_at),
                "attempts": n.attempts,
                "last_error": n.last_error,
            }
            for n in fulfilment.notices
        ],
    }
