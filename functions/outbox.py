"""The mail outbox: order e-mails are queued in the store, then delivered by ``deliver_due``.

Queuing is idempotent (one message per key, whatever Stripe retries), and
delivery takes messages under a lease, so two senders never send the same
message at once and a mail outage only delays mail: a failed message keeps
its place with an attempt count and a retry time that backs off exponentially.

Nothing is retried forever: a message the mailer refuses for good
(``MailError.permanent``: an SMTP 5xx to its recipient, SES ``MessageRejected``)
or that fails ``max_attempts`` times is given up (kept in the store, never due
again), and the merchant is sent one notice about it (key ``alert:<key>``). A
notice that is itself given up is not noticed about in turn.

A message is delivered at least once. The one window for a duplicate is a
sender that stops between the server's acceptance and ``mark_mail_sent``; the
copy then carries the same Message-ID, which lets mail clients recognise it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.parser import BytesHeaderParser
from email.policy import SMTP
from email.utils import parseaddr

from functions.emails import (
    ALERT_PREFIX,
    SUPPLIER_MAIL,
    Attachment,
    InvalidAddress,
    confirmation_email,
    merchant_notification,
    merchant_outcome,
    oversold_email,
    payment_failed_email,
    undeliverable_notice,
)
from functions.mailer import Mailer, MailError
from functions.store import OutgoingMail, Store
from shop.orders import Order, OrderStatus, not_to_supply
from shop.published import PublishedShop

logger = logging.getLogger(__name__)

Backoff = Callable[[int], dt.timedelta]
"""How long to wait after a message's n-th failed attempt (n starts at 1)."""


def exponential_backoff(
    first: dt.timedelta = dt.timedelta(minutes=1), cap: dt.timedelta = dt.timedelta(hours=1)
) -> Backoff:
    """1 min, 2, 4, 8 … after successive failures, never more than ``cap``."""

    def delay(failures: int) -> dt.timedelta:
        # Past 2**20 the cap has long been reached; stop before the number grows.
        doublings: int = min(max(failures, 1) - 1, 20)
        return min(first * (1 << doublings), cap)

    return delay


DEFAULT_BACKOFF = exponential_backoff()
DEFAULT_LEASE = dt.timedelta(minutes=5)
# With the default backoff (1, 2, 4 … 32 min, then hourly) the 78th attempt comes
# about three days after the first: long enough for an outage, short of forever.
DEFAULT_MAX_ATTEMPTS = 78


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one ``deliver_due`` run did."""

    sent: int = 0
    failed: int = 0  # rescheduled with a later retry time
    dead: int = 0  # given up (refused for good, or out of attempts); the merchant is told
    deferred: int = 0  # claimed but left for their lease to expire (the run took too long)

    @property
    def claimed(self) -> int:
        return self.sent + self.failed + self.dead + self.deferred


def deliver_due(
    store: Store,
    mailer: Mailer,
    now: dt.datetime,
    *,
    shop: PublishedShop,
    lease: dt.timedelta = DEFAULT_LEASE,
    backoff: Backoff = DEFAULT_BACKOFF,
    limit: int = 20,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> DeliveryReport:
    """Send the messages that are due, oldest first, up to ``limit`` of them.

    Each one is claimed until ``now + lease``; a sent one is marked sent, and
    one the mailer fails to send (MailError) is marked failed, due again after
    ``backoff(attempts)``. One refused for good, or failing for the
    ``max_attempts``-th time, is given up, and a notice to the merchant rendered
    with ``shop``'s templates is queued (sent by a later run). If sending takes
    so long that the lease is nearly over, the rest are left alone: once the
    lease passes they are due again and another run takes them, so none is sent
    twice in parallel.
    """
    started = time.monotonic()
    budget = lease.total_seconds() * 0.8
    sent = failed = dead = deferred = 0
    for mail in store.claim_due_mails(now, now + lease, limit):
        if time.monotonic() - started > budget:
            deferred += 1
            continue
        withdrawn = _withdrawn(store, mail)
        if withdrawn is not None:
            logger.warning("mail %s not sent: %s", mail.key, withdrawn)
            store.mark_mail_dead(mail.key, withdrawn, now)
            dead += 1
            continue
        try:
            mailer.send(mail.message, envelope_sender(mail), [mail.to])
        except MailError as error:
            failures = mail.attempts + 1
            if error.permanent or failures >= max_attempts:
                give_up(store, mail, str(error), failures, shop, now)
                dead += 1
                continue
            retry_at = now + backoff(failures)
            store.mark_mail_failed(mail.key, str(error), retry_at)
            logger.warning(
                "mail %s not sent (attempt %d), retry at %s: %s",
                mail.key,
                failures,
                retry_at.isoformat(),
                error,
            )
            failed += 1
        else:
            store.mark_mail_sent(mail.key, now)
            sent += 1
    return DeliveryReport(sent=sent, failed=failed, dead=dead, deferred=deferred)


def _withdrawn(store: Store, mail: OutgoingMail) -> str | None:
    """Why a queued mail must no longer go, if it must not: a supplier's order whose order
    was cancelled, refunded or failed since it was queued."""
    if not mail.key.startswith(SUPPLIER_MAIL):
        return None
    return not_to_supply(store.get_order(mail.key.rsplit(":", 1)[-1]))


def give_up(
    store: Store,
    mail: OutgoingMail,
    reason: str,
    attempts: int,
    shop: PublishedShop,
    now: dt.datetime,
) -> None:
    """Stop trying to send ``mail`` and queue the merchant's one notice about it.

    The notice is queued before the message is marked dead: a sender that stops
    in between leaves the message due again once its lease passes, and the next
    give-up finds the notice's key taken, so the merchant is told exactly once.
    """
    logger.error("mail %s given up after %d attempt(s): %s", mail.key, attempts, reason)
    if not mail.key.startswith(ALERT_PREFIX):  # a notice about a notice would loop
        try:
            notice = undeliverable_notice(mail, reason, attempts, shop, now)
        except InvalidAddress as error:
            logger.error("no notice about mail %s: the shop's orders_to: %s", mail.key, error)
        else:
            store.enqueue_mail(notice, now)
    store.mark_mail_dead(mail.key, reason, now)


def envelope_sender(mail: OutgoingMail) -> str:
    """The SMTP envelope sender (where bounces go): the message's From address."""
    headers = BytesHeaderParser(policy=SMTP).parsebytes(mail.message)
    field = headers.get("From")
    addresses: tuple[Address, ...] = getattr(field, "addresses", ())
    if addresses:
        return addresses[0].addr_spec
    return parseaddr(str(field or ""))[1]


def queue_order_emails(
    store: Store,
    order: Order,
    shop: PublishedShop,
    now: dt.datetime,
    attachments: Sequence[Attachment] = (),
) -> list[str]:
    """Queue the mails that the order's status calls for, once each (one key per outcome,
    so retried and reordered events queue nothing twice):

    - pending (SEPA): the shopper's acknowledgement (``pending:``, never "confirmed")
      and the merchant's new order (``merchant:``);
    - paid or fulfilled: the shopper's confirmation (``confirmation:``) and the
      merchant's new order, plus ``merchant-cleared:`` when a pending payment cleared;
    - failed: the shopper's notice with a link to pay again (``failed:``) and
      ``merchant-failed:``;
    - oversold: the merchant's alert (``merchant-oversold:``) and, when the shop holds
      such orders for the merchant, the shopper's notice that it is checking
      (``oversold:``; when the shop refunds them, ``queue_apology`` follows the refund).

    Returns the keys queued by this call. A customer address that cannot be used is
    logged and skips the shopper's mail only: the merchant's mail says so.
    """
    status = order.status
    shopper: list[Callable[[], OutgoingMail]] = []
    merchant: list[Callable[[], OutgoingMail]] = []
    if status in (OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.FULFILLED):
        shopper.append(lambda: confirmation_email(order, shop, attachments))
        merchant.append(lambda: merchant_notification(order, shop))
        if status != OrderStatus.PENDING and any(
            event.status == OrderStatus.PENDING for event in order.history
        ):
            merchant.append(lambda: merchant_outcome(order, shop, "cleared"))
    elif status == OrderStatus.FAILED:
        shopper.append(lambda: payment_failed_email(order, shop))
        merchant.append(lambda: merchant_outcome(order, shop, "failed"))
    elif status == OrderStatus.OVERSOLD:
        checkout = store.get_checkout(order.session_id)
        short = store.oversold(checkout.hold_key) if checkout else {}
        merchant.append(lambda: merchant_outcome(order, shop, "oversold", short))
        if shop.config.oversold == "hold":
            shopper.append(lambda: oversold_email(order, shop, refunded=False))
    mails: list[OutgoingMail] = []
    for make in shopper:
        try:
            mails.append(make())
        except InvalidAddress as error:
            logger.warning("order %s: no e-mail to the shopper: %s", order.number, error)
    mails.extend(make() for make in merchant)
    return [mail.key for mail in mails if store.enqueue_mail(mail, now)]


def queue_apology(store: Store, order: Order, shop: PublishedShop, now: dt.datetime) -> bool:
    """Queue the shopper's apology for an oversold order the shop refunded (once)."""
    try:
        mail = oversold_email(order, shop, refunded=True)
    except InvalidAddress as error:
        logger.warning("order %s: no apology e-mail: %s", order.number, error)
        return False
    return store.enqueue_mail(mail, now)
