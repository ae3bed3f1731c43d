"""Accounting exports: the orders' lines, the sales journal, VAT per rate for a month.

Everything is read from what the store keeps: the issued invoices and credit notes (their
numbers and what they say, as issued) for the journal and the VAT, the orders for the
order lines. Dates are the shop's (its time zone), inclusive at both ends.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from functions.backroom.context import BackRoom, OperationError
from functions.backroom.invoices import NumberedDocument, list_documents
from functions.store import OrderQuery
from shop.accounting import JournalEntry, VatRate, fee_entry, month_bounds, sales_entry, vat_by_rate
from shop.invoices import DocumentKind, invoice_for, paid_at
from shop.money import Money
from shop.orders import OrderStatus
from shop.published import PublishedShop

# Orders that were paid at some point: sales, whatever happened since.
SOLD = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.FULFILLED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
        OrderStatus.OVERSOLD,
        OrderStatus.CANCELLED,
    }
)
MAX_ORDERS = 1_000_000  # an export reads every order of its period


@dataclass(frozen=True, slots=True)
class OrderLineRow:
    """One line of one order, with its share of VAT as its invoice shows it."""

    order: str
    date: dt.date
    status: str
    sku: str
    title: str
    quantity: int
    unit_price: Money  # TTC, before discounts
    discount: Money  # TTC, this line's share of the order's discounts
    net: Money  # HT
    rate: Decimal
    vat: Money
    gross: Money  # TTC
    shipping: Money | None  # the order's shipping TTC, on its first line only
    payment: str  # Stripe's payment reference (pi_…), "" when unknown


def check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise OperationError("invalid_period", f"--to {end} is before --from {start}: swap them.")


def documents_between(backroom: BackRoom, start: dt.date, end: dt.date) -> list[NumberedDocument]:
    """Invoices and credit notes issued from ``start`` to ``end`` (inclusive), in number order."""
    check_period(start, end)
    found: list[NumberedDocument] = []
    for year in range(start.year, end.year + 1):
        found.extend(
            d for d in list_documents(backroom, year) if start <= d.document.issued_on <= end
        )
    return found


def known_fees(backroom: BackRoom, document: NumberedDocument) -> Money | None:
    """Stripe's fee on the payment an invoice records, when known; None today.

    The hook for fees: Stripe gives a charge's fee on its balance transaction
    (``charge.balance_transaction.fee``, once the charge is settled), which comptoir
    does not fetch or store yet. When it does (e.g. kept on the order from
    ``charge.updated``), return it here and ``journal`` books it (``fee_entry``).
    """
    return None


def journal(backroom: BackRoom, start: dt.date, end: dt.date) -> list[JournalEntry]:
    """The sales journal of the period: one entry per invoice and per credit note, and one
    per known Stripe fee, in number order."""
    accounts = backroom.shop().config.accounting
    entries: list[JournalEntry] = []
    for numbered in documents_between(backroom, start, end):
        entries.append(sales_entry(numbered.number, numbered.document, accounts))
        if numbered.document.kind == DocumentKind.INVOICE:
            fee = known_fees(backroom, numbered)
            if fee is not None and fee.amount:
                entries.append(
                    fee_entry(
                        numbered.number, numbered.document, fee, numbered.document.paid_on, accounts
                    )
                )
    return entries


def vat_for_month(backroom: BackRoom, month: str) -> tuple[dt.date, dt.date, list[VatRate]]:
    """The month's VAT collected per rate (credit notes deducted): (first day, last, rates)."""
    try:
        start, end = month_bounds(month)
    except ValueError as error:
        raise OperationError("invalid_month", f"{error}.") from None
    documents = documents_between(backroom, start, end)
    return start, end, vat_by_rate(d.document for d in documents)


def order_lines(backroom: BackRoom, start: dt.date, end: dt.date) -> list[OrderLineRow]:
    """The lines of the orders sold from ``start`` to ``end``, oldest order first."""
    check_period(start, end)
    shop = backroom.shop()
    query = OrderQuery(
        statuses=SOLD,
        created_from=_utc_start(shop, start),
        created_before=_utc_start(shop, end + dt.timedelta(days=1)),
    )
    orders = backroom.store.find_orders(query, limit=MAX_ORDERS)
    rows: list[OrderLineRow] = []
    for order in reversed(orders):  # the store gives the newest first
        day = _local_date(shop, order.created_at)
        # The invoice's arithmetic gives each line its share of its rate's VAT.
        invoice = invoice_for(order, shop.config, day, _local_date(shop, paid_at(order)))
        checkout = backroom.store.get_checkout(order.session_id)
        payment = (checkout.payment_intent or "") if checkout else ""
        priced = order.priced
        for index, (line, billed) in enumerate(zip(priced.lines, invoice.lines, strict=False)):
            rows.append(
                OrderLineRow(
                    order=order.number,
                    date=day,
                    status=order.status.value,
                    sku=line.sku,
                    title=line.title,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    discount=line.discount,
                    net=billed.net,
                    rate=line.tax_rate,
                    vat=billed.vat,
                    gross=line.total,
                    shipping=priced.delivery.price if index == 0 else None,
                    payment=payment,
                )
            )
    return rows


def _zone(shop: PublishedShop) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(shop.config.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _utc_start(shop: PublishedShop, day: dt.date) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(), tzinfo=_zone(shop))
    return local.astimezone(dt.UTC)


def _local_date(shop: PublishedShop, moment: dt.datetime) -> dt.date:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(_zone(shop)).date()
