"""The store contract: what the functions need to remember, whatever the back-end.

Implementations: ``sqlite_store.SQLiteStore`` (embedded default) and, later,
a DynamoDB store. Both pass ``tests/store_contract.py``. Every method is
atomic on its own; the ones that matter for money are idempotent, so a
retried webhook or a duplicated event can never count twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from shop.orders import Address, Order, OrderStatus, PricedOrder
from shop.returns import ReturnRequest, ReturnStatus


class StoreError(Exception):
    """The store could not do what was asked (outage, corruption); callers answer 5xx."""


class InsufficientStock(Exception):
    """A reservation could not be made; nothing was reserved."""

    def __init__(self, sku: str, available: int) -> None:
        super().__init__(f"only {available} of {sku} available")
        self.sku = sku
        self.available = available


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    key: str  # idempotency key, e.g. "confirmation:cs_test_123"
    to: str
    message: bytes  # a complete RFC 5322 message
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None  # UTC
    sent_at: dt.datetime | None = None
    last_error: str | None = None
    # The shopper a message is about when they are not its recipient (the merchant's
    # notice of their order): what ``forget_customer`` finds it by. "": the recipient.
    about: str = ""

    @property
    def person(self) -> str:
        """Whose personal data the message carries: ``about``, else its recipient."""
        return person_key(self.about or self.to)


@dataclass(frozen=True, slots=True)
class OutgoingDelivery:
    """Something to deliver elsewhere than by mail (a webhook POST), queued once per key.

    The queue works as the mail outbox does (claim under a lease, sent, failed with a
    retry time, or given up) and is kept apart from it: a mail outage and a dead
    endpoint each delay only their own kind, and mail delivery never sees a webhook.
    """

    key: str  # idempotency key, e.g. "webhook:order.paid:cs_test_123:3f2a…"
    channel: str  # who delivers it, e.g. "webhook"
    target: str  # where, e.g. the endpoint's URL
    body: bytes  # what; its meaning is the channel's
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None  # UTC
    sent_at: dt.datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Checkout:
    """A checkout session we created: its hold key and the priced order the shopper accepted."""

    session_id: str
    hold_key: str  # the stock reservation's key
    created_at: dt.datetime
    expires_at: dt.datetime
    priced: PricedOrder  # what the order will be, stored through shop.orders' codec
    catalog_hash: str  # the catalogue it was priced from
    payment_intent: str | None = None


@dataclass(frozen=True, slots=True)
class StockCount:
    """A merchant's count of a SKU: ``count`` units on the shelf at ``counted_at`` (aware).

    Undated (``counted_at`` None), the count is taken as of when it is first synced.
    """

    count: int
    counted_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class StockHold:
    key: str  # the checkout's hold key
    quantity: int
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class StockLevel:
    """Where a tracked SKU stands: its count, what sold since, what is held, what is left."""

    sku: str
    count: int  # the count in force (from a file, or a correction)
    counted_at: dt.datetime | None  # None: undated, as of when it was synced
    count_id: str  # changes with every count adopted (one low-stock alert per count)
    sold: int  # units sold since that count
    holds: tuple[StockHold, ...]  # live holds, soonest expiry first

    @property
    def held(self) -> int:
        return sum(hold.quantity for hold in self.holds)

    @property
    def available(self) -> int:
        """What can still be sold; below zero when oversold (late payments)."""
        return self.count - self.sold - self.held


@dataclass(frozen=True, slots=True)
class StockAdjustment:
    """A correction the merchant made by hand (``comptoir stock set``), kept for good."""

    sku: str
    count: int  # the new count
    previous: int  # what was available just before
    reason: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class IssuedDocument:
    """A numbered document (an invoice, a credit note): its number and what it says."""

    key: str  # what it was issued for, e.g. "invoice:cs_test_123": one document per key
    year: int
    sequence: int  # 1, 2, 3 … within the year: no gap, no duplicate
    body: Mapping[str, Any]  # JSON-able; its meaning is the caller's (shop.invoices' codec)


@dataclass(frozen=True, slots=True)
class Customer:
    """Someone who bought, as recorded at checkout, and their marketing consent.

    ``marketing_consent`` is True only after an explicit yes (``consent_at``, when it was
    last given, and ``consent_source``, where: e.g. "checkout"); a withdrawal
    (``withdraw_consent``) turns it off and is dated in ``consent_withdrawn_at``.
    """

    email: str  # lower-cased, trimmed: the customer's key
    name: str
    marketing_consent: bool
    consent_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    consent_source: str | None = None
    consent_withdrawn_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """Which orders ``find_orders`` returns; every criterion given must hold."""

    statuses: frozenset[OrderStatus] = frozenset()  # empty: any status
    created_from: dt.datetime | None = None  # inclusive, UTC
    created_before: dt.datetime | None = None  # exclusive, UTC
    email: str | None = None  # the shopper's address, whatever its case
    sku: str | None = None  # one of the order's lines is of this SKU


@dataclass(frozen=True, slots=True)
class PersonalData:
    """Everything the store holds keyed by one person (``Store.personal_data``)."""

    customer: Customer | None
    orders: tuple[Order, ...]  # newest first
    returns: tuple[ReturnRequest, ...]  # their orders' returns and withdrawals, newest first
    mails: tuple[OutgoingMail, ...]  # to them or about them (``OutgoingMail.person``)


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """What ``forget_customer`` changed: all zero when there was nothing (left) to erase."""

    customer: bool  # the customer record (and its consent) was deleted
    orders: int
    returns: int
    mails: int

    @property
    def changed(self) -> bool:
        return self.customer or bool(self.orders or self.returns or self.mails)


@dataclass(frozen=True, slots=True)
class PurgeCandidate:
    """A person whose last order, or consent, is older than a retention cutoff."""

    email: str
    last_seen: dt.datetime  # their last order, consent or checkout, whichever is latest


class Store(Protocol):
    # -- stock --------------------------------------------------------------
    def sync_stock(self, levels: Mapping[str, int | StockCount]) -> None:
        """Adopt the merchant's counts from content for tracked SKUs.

        Dated (``StockCount`` with ``counted_at``): the live stock is the count minus
        the units sold after ``counted_at`` (sales carry their time; cancelled ones do
        not count), so a restock pushed in a file keeps the sales made meanwhile. The
        same dated count synced again changes nothing; a newer one replaces an older
        one; one older than the count in force (a file's, or a correction's) is
        ignored. A dated count always replaces an undated one.
        Undated (a plain int, or no ``counted_at``): a SKU whose count differs from the
        last one synced starts afresh from it (what was sold since is forgotten: the
        merchant just counted the shelf). SKUs absent from ``levels`` are untracked.
        """

    def set_stock(self, sku: str, count: int, reason: str, now: dt.datetime) -> StockAdjustment:
        """A correction by hand: ``count`` units on the shelf at ``now``, kept with its
        reason. Holds stay counted; a file's count replaces it only if the file's
        count is dated after ``now``, or, undated, changes. KeyError: SKU not tracked.
        """

    def stock_levels(self, now: dt.datetime, skus: Sequence[str] | None = None) -> list[StockLevel]:
        """Tracked SKUs (all, or those of ``skus`` that are tracked), by SKU."""

    def stock_adjustments(self, limit: int = 100) -> list[StockAdjustment]:
        """Corrections by hand, newest first."""

    def available(self, skus: Sequence[str], now: dt.datetime) -> dict[str, int | None]:
        """Units that can still be reserved (None: not tracked), expired holds excluded."""

    def reserve(
        self, key: str, quantities: Mapping[str, int], expires_at: dt.datetime, now: dt.datetime
    ) -> None:
        """Hold stock for a checkout, all SKUs or none; raises InsufficientStock.

        Reserving again under the same key replaces that key's previous hold.
        """

    def commit_reservation(self, key: str, now: dt.datetime) -> bool:
        """Turn a hold into a sale (payment received). Idempotent: False if already done.

        Works even when the hold has expired (a late payment still sold the goods),
        and then stock may go below zero, which the merchant sees as oversold.
        """

    def oversold(self, key: str) -> dict[str, int]:
        """Units of each SKU that the sale under ``key`` took beyond the stock, as
        ``commit_reservation`` found it ({} when none, or no such sale).

        A sale is short when its hold had lapsed by then and the stock still free
        (count - sold - other checkouts' live holds) did not cover it: a late payment
        sold units another shopper bought or holds. A live hold is never short.
        """

    def release_reservation(self, key: str) -> bool:
        """Drop a hold (checkout expired or failed). Idempotent; never releases a sale."""

    def cancel_sale(self, key: str) -> bool:
        """Put back the units a committed hold sold (its payment failed). Idempotent:
        False when there is no sale under that key or it was already put back."""

    def release_expired_holds(self, now: dt.datetime) -> int:
        """Drop every hold whose expiry is at or before ``now``; returns how many checkouts' holds
        were dropped. A later ``commit_reservation`` of a dropped hold records a sale of
        nothing, so callers pass a ``now`` well past any payment that may still land."""

    # -- orders -------------------------------------------------------------
    def create_order(self, order: Order) -> bool:
        """Record an order once: False (and nothing changes) if its session has one."""

    def get_order(self, session_id: str) -> Order | None: ...

    def set_order_status(
        self, session_id: str, status: OrderStatus, note: str, now: dt.datetime
    ) -> Order:
        """Move an order as ``Order.moved`` does (along shop.orders.TRANSITIONS), atomically.

        Setting the status it already has is a no-op; a forbidden move raises
        InvalidTransition; an unknown order raises KeyError.
        """

    def list_orders(self, limit: int = 100) -> list[Order]:
        """Newest first."""

    # orders: the back room (concern "orders")
    def find_orders(self, query: OrderQuery, limit: int = 100) -> list[Order]:
        """The orders ``query`` matches, newest first, at most ``limit``."""

    def find_order_by_number(self, number: str) -> Order | None:
        """The order shown to people as ``number`` (e.g. CT-20261206-3FA2B1), if any."""

    def update_order(self, session_id: str, change: Callable[[Order], Order]) -> Order:
        """Replace an order by ``change(order)``, atomically: no other write comes between
        the read and the write (``change`` may be called again when one did, so it must
        only compute). Whatever ``change`` raises comes out and nothing is written; the
        very same order back writes nothing. An unknown order raises KeyError.
        """

    def restock(self, key: str, sale_key: str, quantities: Mapping[str, int]) -> bool:
        """Put back on the shelf some units that the sale ``sale_key`` (a committed hold)
        sold, once per ``key``: False (and nothing changes) if that key was used before.

        As ``cancel_sale``, units sold from a count the merchant has since replaced are
        not put back, nor are those of a cancelled or unknown sale, nor, in one call,
        more of a SKU than the sale sold.
        """

    # -- checkouts ------------------------------------------------------------
    def save_checkout(self, checkout: Checkout) -> None:
        """Remember what a checkout session was created for (its priced order)."""

    def get_checkout(self, session_id: str) -> Checkout | None: ...

    def find_checkout_by_payment(self, payment_intent: str) -> Checkout | None: ...

    def set_checkout_payment(self, session_id: str, payment_intent: str) -> None:
        """Link a checkout to the payment that paid it (for refunds)."""

    # -- events and codes -----------------------------------------------------
    def claim_event(self, event_id: str, now: dt.datetime) -> bool:
        """True the first time an event id is seen, False forever after (a lasting record)."""

    def release_event(self, event_id: str) -> None:
        """Forget a claim, when processing failed, so the provider's retry is handled."""

    def count_code_use(self, code: str, session_id: str) -> None:
        """Count one use of a promo code by an order (idempotent per session)."""

    def code_uses(self, code: str) -> int: ...

    def claim_code_use(self, code: str, key: str, limit: int) -> bool:
        """Count a use of a limited code by one checkout, atomically refusing past ``limit``.

        Idempotent per (code, key): claiming again answers True without counting twice.
        """

    def release_code_use(self, code: str, key: str) -> None:
        """Give a use back (its checkout expired, was cancelled or its payment failed)."""

    # -- customers ----------------------------------------------------------
    def record_customer(
        self,
        email: str,
        name: str,
        marketing_consent: bool,
        now: dt.datetime,
        consent_source: str = "checkout",
    ) -> None:
        """Create or update a customer; consent is only ever widened by an explicit yes.

        A yes from someone not consenting (never, or since a withdrawal) is dated ``now``
        and kept with ``consent_source``; a yes from someone consenting changes neither.
        """

    # customers (concern "customer lists", issue 14)
    def get_customer(self, email: str) -> Customer | None:
        """The customer recorded under this address (whatever its case), if any."""

    def list_customers(self) -> list[Customer]:
        """Every customer recorded, by e-mail address."""

    def withdraw_consent(self, email: str, now: dt.datetime) -> bool:
        """Withdraw the customer's marketing consent at ``now`` (an unsubscribe): False,
        and nothing changes, when there is no such customer or they were not consenting.
        Only a later explicit yes (``record_customer``) gives it back."""

    # -- returns (issue 13: returns and withdrawal) -----------------------------
    def find_orders_by_number(self, number: str) -> list[Order]:
        """The orders shown to people as ``number`` (numbers are short: there may, rarely,
        be more than one); [] when none."""

    def create_return(self, ret: ReturnRequest) -> bool:
        """Record a return once: False (and nothing changes) if its ``rid`` is taken."""

    def get_return(self, rid: str) -> ReturnRequest | None: ...

    def list_returns(self, session_id: str | None = None, limit: int = 100) -> list[ReturnRequest]:
        """Newest first: every return, or one order's."""

    def update_return(self, ret: ReturnRequest, expected: ReturnStatus) -> bool:
        """Replace the stored return ``ret.rid`` by ``ret`` if its status is still
        ``expected`` (compare-and-set): False, and nothing changes, otherwise.
        Raises KeyError for an unknown return."""

    # -- mail outbox --------------------------------------------------------
    def enqueue_mail(self, mail: OutgoingMail, now: dt.datetime) -> bool:
        """Queue a message once per key: False if that key was queued before."""

    def claim_due_mails(
        self, now: dt.datetime, lease_until: dt.datetime, limit: int = 20
    ) -> list[OutgoingMail]:
        """Atomically take unsent messages whose next attempt is due, oldest first.

        Taken messages get ``next_attempt_at = lease_until``, so a concurrent
        sender does not take them too; a sender that dies leaves them due again
        once the lease passes.
        """

    def mark_mail_sent(self, key: str, now: dt.datetime) -> None: ...

    def mark_mail_failed(self, key: str, error: str, retry_at: dt.datetime) -> None:
        """Count a failed attempt, keep ``error``, and make the message due at ``retry_at``.

        A message already sent, or given up (``mark_mail_dead``), is left as it is.
        """

    def mark_mail_dead(self, key: str, error: str, now: dt.datetime) -> None:
        """Give up on a message for good: it is never due again, whatever comes later.

        Counts the attempt and keeps ``error`` and ``now``; the message stays stored
        (its key stays taken: queuing it again answers False). A message already sent
        stays sent, and one already dead keeps its first error. Raises KeyError for
        an unknown key.
        """

    def get_mail(self, key: str) -> OutgoingMail | None:
        """The message queued under ``key`` as it stands (sent or not, attempts, last
        error), or None if that key was never queued."""

    # -- outgoing deliveries (issue 14: outgoing webhooks) ------------------------------
    def enqueue_delivery(self, delivery: OutgoingDelivery, now: dt.datetime) -> bool:
        """Queue a delivery once per key: False (nothing changes) if that key was queued
        before, whatever became of it."""

    def claim_due_deliveries(
        self, now: dt.datetime, lease_until: dt.datetime, limit: int = 20
    ) -> list[OutgoingDelivery]:
        """As ``claim_due_mails``: atomically take the due deliveries, oldest first, each
        with ``next_attempt_at = lease_until`` so no other sender takes it meanwhile."""

    def mark_delivery_sent(self, key: str, now: dt.datetime) -> None:
        """Delivered: never due again. KeyError for an unknown key."""

    def mark_delivery_failed(self, key: str, error: str, retry_at: dt.datetime) -> None:
        """Count a failed attempt, keep ``error``, due again at ``retry_at``; a delivery
        sent or given up stays so. KeyError for an unknown key."""

    def mark_delivery_dead(self, key: str, error: str, now: dt.datetime) -> None:
        """Give up for good (counted, ``error`` kept, never due again, key still taken);
        a delivery sent stays sent, one dead keeps its first error. KeyError if unknown."""

    def get_delivery(self, key: str) -> OutgoingDelivery | None:
        """The delivery queued under ``key`` as it stands, or None if never queued."""

    # -- numbered documents (invoices) -----------------------------------------------
    def issue_document(self, key: str, year: int, body: Mapping[str, Any]) -> IssuedDocument:
        """Give ``key`` the next number of ``year``'s one sequence, with ``body``, atomically.

        Numbers start at 1 each year and follow each other without gap or duplicate, however
        many callers issue at once and whenever one stops half-way: the number and its body are
        kept together, or neither is. Idempotent per key: a key issued before gets back its
        document as first issued (the ``year`` and ``body`` given again are ignored).
        """

    def get_document(self, year: int, sequence: int) -> IssuedDocument | None: ...

    def find_document(self, key: str) -> IssuedDocument | None: ...

    def list_documents(self, year: int) -> list[IssuedDocument]:
        """The year's documents in number order."""

    # -- personal data (GDPR: access, erasure, retention) ------------------------
    def personal_data(self, email: str) -> PersonalData:
        """What is held on the person ``email`` (whatever its case): their customer record,
        their orders (by the order's e-mail), those orders' returns, and the outbox mails
        whose ``person`` they are. Numbered documents are not included: they are found
        through the orders (``invoice:{session}`` …) and are never changed.

        DynamoDB finds orders and mails through per-person pointers written with them:
        those recorded before the pointers existed are not found there.
        """

    def forget_customer(self, email: str, pseudonym: str, now: dt.datetime) -> ForgetReport:
        """Erase the person ``email`` (whatever its case), keeping the accounting.

        The customer record (name, consent) is deleted; each of their orders becomes
        ``forgotten_order(order, pseudonym)``, each of those orders' returns
        ``forgotten_return``; each mail whose ``person`` they are keeps its key (so it is
        never queued again) and its dates, but its message is emptied, its recipient and
        ``about`` become ``pseudonym``, its last error is dropped, and an unsent one is
        given up at ``now`` (never sent). Numbered documents (invoices, credit notes) are
        not touched: the law wants them kept as issued. Idempotent: a second call finds
        nothing left and reports zeros. Erased data does not linger in the back-end's
        files (SQLite: secure_delete, and the WAL checkpointed).
        """

    def list_people_for_purge(self, cutoff: dt.datetime, limit: int = 1000) -> list[PurgeCandidate]:
        """People not seen since ``cutoff``: their customer record's last update (each
        paid order and each consent updates it) and, SQLite, their last order, are all
        before it. Forgotten people (pseudonyms) are never listed. Oldest first.

        DynamoDB lists customer records from the ``CUSTOMERS`` index, which records written
        before it existed are not in (until their next order).
        """

    # -- lifetime -------------------------------------------------------------
    def close(self) -> None:
        """Let go of connections; the store is not used afterwards."""


def adopts_count(
    synced: StockCount | None, counted_at: dt.datetime | None, new: StockCount
) -> bool:
    """Whether a file's ``new`` count replaces the count in force (the rule of ``sync_stock``).

    ``synced``: the count last synced from files (None: the SKU is not tracked yet);
    ``counted_at``: when the count in force was made (a file's, or a correction's).
    """
    if synced is None:
        return True
    if synced == new:
        return False
    if new.counted_at is None:
        return True
    return counted_at is None or new.counted_at >= counted_at


# -- personal data ---------------------------------------------------------------


PSEUDONYM_DOMAIN = "invalid"  # RFC 2606: reserved, never delivered anywhere


def person_key(email: str) -> str:
    """The form of an e-mail address people are filed under: case does not matter."""
    return email.strip().lower()


def pseudonym_for(email: str) -> str:
    """``forgotten-<hash>@invalid``: what a forgotten person's address becomes.

    Stable (forgetting twice, or in any case, gives the same one), so the orders of one
    person stay together for the accounting; a hash, so it names nobody. It can confirm
    a guess ("was this address a customer?"), which lets the merchant answer a person
    who asks again; it reveals nothing else.
    """
    digest = hashlib.sha256(person_key(email).encode()).hexdigest()[:16]
    return f"forgotten-{digest}@{PSEUDONYM_DOMAIN}"


def is_pseudonym(email: str) -> bool:
    return person_key(email).endswith("@" + PSEUDONYM_DOMAIN)


def forgotten_order(order: Order, pseudonym: str) -> Order:
    """``order`` with nothing left that identifies its shopper: the e-mail becomes
    ``pseudonym``; the name, the address (the country stays: it fixed the VAT) and the
    marketing consent are dropped. Amounts, lines, history, shipments and refunds stay."""
    address = order.shipping_address
    kept = None if address is None else Address("", "", "", "", "", address.country)
    return replace(
        order,
        email=pseudonym,
        customer_name="",
        shipping_address=kept,
        marketing_consent=False,
    )


def forgotten_return(ret: ReturnRequest) -> ReturnRequest:
    """``ret`` without the contact the shopper gave (name, address)."""
    return replace(ret, contact_name="", contact_address="")
