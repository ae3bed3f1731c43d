"""Invoices and credit notes: issued when money moves, fetched by the merchant.

An invoice is issued when an order is recorded paid (``issue_invoice``, from the
webhook), a credit note when a refund is recorded (``issue_credit_notes``). Both are
numbered by ``Store.issue_document``: one gapless sequence per calendar year (of the
shop's time zone), idempotent per key, so a webhook delivered twice, or twice at once,
issues one document. What a document says is kept with its number (``shop.invoices``'
codec), so its PDF is rendered again, byte for byte, from the store.

Credit notes keep the sum of an order's credit notes equal to what Stripe says was
refunded (``amount_refunded``, cumulative): each delivery issues the missing part under
the order's next credit-note key (``credit:{session}:1``, ``:2`` …). Two refund events
racing take the same key, one wins, the other sees it and issues only what is still
missing: the sum is right whatever the order of delivery.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from functions.backroom.context import BackRoom, OperationError
from functions.emails import Attachment
from functions.invoice_pdf import document_pdf
from functions.store import IssuedDocument, Store, StoreError
from shop.invoices import (
    Document,
    DocumentFormatError,
    credit_note_for,
    decode_document,
    document_number,
    encode_document,
    invoice_for,
    paid_at,
    parse_document_number,
)
from shop.orders import Order, OrderStatus
from shop.published import PublishedShop

# An order in one of these was paid at some point: it is invoiced.
INVOICED = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.FULFILLED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    }
)
MAX_CREDIT_NOTES = 100  # per order: a bound on the walk along its keys


@dataclass(frozen=True, slots=True)
class NumberedDocument:
    number: str  # "F-2026-000001"
    key: str
    document: Document

    @classmethod
    def of(cls, issued: IssuedDocument) -> NumberedDocument:
        try:
            document = decode_document(issued.body)
        except DocumentFormatError as error:
            raise StoreError(f"document {issued.year}/{issued.sequence}: {error}") from error
        return cls(
            document_number(document.kind, issued.year, issued.sequence), issued.key, document
        )

    @property
    def filename(self) -> str:
        return f"{self.number}.pdf"


def invoice_key(session_id: str) -> str:
    return f"invoice:{session_id}"


def credit_note_key(session_id: str, index: int) -> str:
    return f"credit:{session_id}:{index}"


def issue_invoice(
    store: Store, shop: PublishedShop, order: Order, now: dt.datetime
) -> NumberedDocument:
    """The order's invoice, issued now unless it was before (idempotent)."""
    key = invoice_key(order.session_id)
    found = store.find_document(key)
    if found is not None:
        return NumberedDocument.of(found)
    today = _local_date(shop, now)
    document = invoice_for(order, shop.config, today, _local_date(shop, paid_at(order)))
    return NumberedDocument.of(store.issue_document(key, today.year, encode_document(document)))


def issue_credit_notes(
    store: Store, shop: PublishedShop, order: Order, refunded: int, now: dt.datetime
) -> list[NumberedDocument]:
    """Credit notes so that the order's add up to ``refunded`` (Stripe's cumulative amount).

    Returns the order's credit notes. An order never paid has no invoice to correct: none.
    """
    invoice_found = store.find_document(invoice_key(order.session_id))
    if invoice_found is None and order.status not in INVOICED:
        return []
    invoice = (
        NumberedDocument.of(invoice_found)
        if invoice_found
        else issue_invoice(store, shop, order, now)
    )
    wanted = min(refunded, invoice.document.gross.amount)
    notes: list[NumberedDocument] = []
    for index in range(1, MAX_CREDIT_NOTES + 1):
        credited = sum(n.document.gross.amount for n in notes)
        key = credit_note_key(order.session_id, index)
        found = store.find_document(key)
        if found is None:
            if credited >= wanted:
                break
            today = _local_date(shop, now)
            document = credit_note_for(
                invoice.document, invoice.number, wanted - credited, today, today
            )
            # Another delivery may take this key first: then its note is the one kept.
            found = store.issue_document(key, today.year, encode_document(document))
        notes.append(NumberedDocument.of(found))
    return notes


def invoice_attachments(
    store: Store, shop: PublishedShop, order: Order, now: dt.datetime
) -> list[Attachment]:
    """The invoice's PDF to send with the confirmation, issuing it if the order is paid;
    none for an order not paid yet (a pending SEPA debit)."""
    if order.status not in INVOICED:
        return []
    invoice = issue_invoice(store, shop, order, now)
    return [Attachment(invoice.filename, document_pdf(invoice.number, invoice.document, shop))]


# -- the merchant's operations ------------------------------------------------------------


def get_document(backroom: BackRoom, number: str) -> tuple[NumberedDocument, bytes]:
    """The document numbered ``number`` (``F-2026-000001``) and its PDF."""
    try:
        kind, year, sequence = parse_document_number(number)
    except ValueError:
        raise OperationError(
            "invalid_number",
            f"{number!r} is not a document number: write it as F-2026-000001 (an invoice) "
            "or A-2026-000002 (a credit note).",
        ) from None
    issued = backroom.store.get_document(year, sequence)
    numbered = None if issued is None else NumberedDocument.of(issued)
    if numbered is None or numbered.document.kind != kind:
        hint = f" (number {sequence} of {year} is {numbered.number})" if numbered else ""
        raise OperationError("unknown_document", f"No document {number.upper()}{hint}.")
    return numbered, document_pdf(numbered.number, numbered.document, backroom.shop())


def list_documents(backroom: BackRoom, year: int | None = None) -> list[NumberedDocument]:
    """A year's invoices and credit notes in number order (this year's by default)."""
    if year is None:
        year = _local_date(backroom.shop(), backroom.now()).year
    return [NumberedDocument.of(issued) for issued in backroom.store.list_documents(year)]


def _local_date(shop: PublishedShop, moment: dt.datetime) -> dt.date:
    try:
        zone: dt.tzinfo = zoneinfo.ZoneInfo(shop.config.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(zone).date()
