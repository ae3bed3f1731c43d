"""What every back-room operation works with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from functions.payments import StripePayments
from functions.settings import ShopSource
from functions.store import Store
from shop.published import PublishedShop

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OperationError(Exception):
    """An operation that cannot be done as asked; the message says why and what to do.

    ``code`` names the case for a JSON answer (``--json``, a back office).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class BackRoom:
    """The collaborators of the back-room operations.

    ``payments`` is None when no payment provider can be reached (no key, and no
    ``comptoir serve`` running with its emulator): operations that move money say so.
    """

    store: Store
    shops: ShopSource
    payments: StripePayments | None = None
    clock: Clock = field(default=utc_now)

    def shop(self) -> PublishedShop:
        return self.shops.current()

    def now(self) -> dt.datetime:
        return self.clock()

    def require_payments(self) -> StripePayments:
        if self.payments is None:
            raise OperationError(
                "payments_unavailable",
                "No payment provider to talk to: set STRIPE_SECRET_KEY, or start "
                "`comptoir serve` (its test-only Stripe emulator) in the shop's folder.",
            )
        return self.payments
