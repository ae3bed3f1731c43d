"""Low stock: a SKU whose available stock crosses to at or below the shop's
``stock.low_threshold`` is told to the merchant once, by an e-mail (to ``orders_to``) and
by the ``stock.low`` outgoing webhook (when an endpoint wants it).

Once per crossing, i.e. once until the SKU is restocked above the threshold. A crossing
is keyed by the SKU and the id of the count in force (``StockLevel.count_id``), in the
outbox as in the webhook queue, so a Stripe event delivered again, the same command run
twice or two sales at once queue one alert. What counts as a crossing:

- a sale, when the SKU ends at or below the threshold and its count was above it: the
  sale 4 -> 3 (threshold 3) alerts, the sale 3 -> 2 from the same count does not;
- a correction by hand (``comptoir stock set``) from above the threshold to at or below
  it. Setting an already low SKU lower is the same crossing: no new alert, and its
  sales do not alert either (their count is not above the threshold);
- a new count above the threshold (the restock) arms it again: its sales alert anew.

A count written in a product's file is not checked when a build is adopted: the merchant
just wrote it (a sold-out product says ``stock: 0`` on purpose). Holds alone alert
nothing (a checkout may lapse; its sale is checked if it comes). Putting units back
(cancelled sales, returns, refunds) never lowers stock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from functions.emails import InvalidAddress, low_stock_email
from functions.outgoing_webhooks import queue_event
from functions.store import StockLevel, Store
from shop.published import PublishedShop

log = logging.getLogger("comptoir.stock_alerts")
EVENT = "stock.low"


@dataclass(frozen=True, slots=True)
class LowStockAlerts:
    low: list[StockLevel]  # the SKUs that crossed the threshold (told now or before)
    mails: int  # alert e-mails queued by this call (0: told before)
    webhooks: int  # stock.low deliveries queued by this call


def crossed_low(
    store: Store,
    shop: PublishedShop,
    skus: Sequence[str],
    now: dt.datetime,
    before: Mapping[str, int] | None = None,
) -> list[StockLevel]:
    """The SKUs of ``skus`` that crossed to at or below the threshold (none without one):
    at or below it now, and above it ``before`` (what was available before a correction)
    or, for a sale, by the count they are sold from."""
    threshold = shop.config.stock_low_threshold
    if threshold is None or not skus:
        return []
    was = before or {}
    return [
        level
        for level in store.stock_levels(now, skus)
        if level.available <= threshold < was.get(level.sku, level.count)
    ]


def alert_low_stock(
    store: Store,
    shop: PublishedShop,
    skus: Sequence[str],
    now: dt.datetime,
    before: Mapping[str, int] | None = None,
) -> LowStockAlerts:
    """Tell the merchant once about each of ``skus`` that crossed the threshold (see
    ``crossed_low``): an e-mail, and ``stock.low`` to the endpoints that want it. Safe
    to call as often as anything changes the stock."""
    low = crossed_low(store, shop, skus, now, before)
    threshold = shop.config.stock_low_threshold
    mails = webhooks = 0
    for level in low:
        assert threshold is not None  # crossed_low found none without one
        refs = {"sku": level.sku, "available": level.available, "threshold": threshold}
        webhooks += queue_event(store, shop, EVENT, f"{level.sku}:{level.count_id}", refs, now)
        try:
            mails += store.enqueue_mail(low_stock_email(level, threshold, shop, now), now)
        except InvalidAddress as error:  # orders_to is checked by the build: unlikely
            log.error("no low-stock e-mail for %s: %s", level.sku, error)
    return LowStockAlerts(low, mails, webhooks)
