"""Stock: where each tracked SKU stands, what runs low, and corrections by hand.

The rule of counts (dated counts from product files, sales since, corrections) is the
store's: see ``Store.sync_stock`` and docs/content.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.backroom.context import BackRoom, OperationError
from functions.stock_alerts import alert_low_stock
from functions.store import StockAdjustment, StockLevel


@dataclass(frozen=True, slots=True)
class StockReport:
    levels: list[StockLevel]
    low_threshold: int | None  # the shop's stock.low_threshold; None: no alerts

    @property
    def low(self) -> list[StockLevel]:
        """The SKUs at or below the threshold (oversold ones included)."""
        if self.low_threshold is None:
            return []
        return [level for level in self.levels if level.available <= self.low_threshold]


def stock_report(room: BackRoom) -> StockReport:
    """Every tracked SKU's count, its date, what sold since, what is held and what is left."""
    return StockReport(room.store.stock_levels(room.now()), room.shop().config.stock_low_threshold)


def set_stock(room: BackRoom, sku: str, count: int, reason: str) -> StockAdjustment:
    """A correction by hand: ``count`` on the shelf now, kept with its reason."""
    if count < 0:
        raise OperationError("invalid_count", f"The count must be 0 or more, not {count}.")
    if not reason.strip():
        raise OperationError(
            "reason_required", 'Say why with --reason, e.g. --reason "2 broken in transit".'
        )
    now = room.now()
    try:
        adjustment = room.store.set_stock(sku, count, reason.strip(), now)
    except KeyError:
        raise OperationError(
            "untracked_sku",
            f"{sku} has no tracked stock: give its product a 'stock' in its file, "
            "then run `comptoir build`.",
        ) from None
    # From above the threshold to at or below it: the merchant is told, once.
    alert_low_stock(room.store, room.shop(), [sku], now, {sku: adjustment.previous})
    return adjustment
