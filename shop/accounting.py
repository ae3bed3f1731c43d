"""Accounting: the sales journal (FEC columns), VAT per rate for a CA3 return, and the
order lines a spreadsheet wants — pure functions of the issued documents and orders.

The journal books each issued document as one entry (``EcritureNum`` = the document's
number, itself one gapless sequence per year, so the entries are numbered without gap):

- an invoice: debit the customers account (411) with its total TTC; credit, per VAT
  rate, the sales account (707, or 7085 for shipping) with the net and the VAT collected
  account (44571) with the VAT;
- a credit note: the same, reversed (credit 411, debit 707 / 7085 / 44571).

The amounts are the document's own, line by line, so the entry balances to the cent and
its totals are the document's. Stripe's fees are booked by ``fee_entry`` (debit 6278,
credit the Stripe balance account) when a fee is known: Stripe reports it on the balance
transaction of a charge, which comptoir does not fetch yet, so today no fee is known and
no fee entry is written (see ``functions.backroom.accounting.known_fees``).

Columns and formats: the 18 columns of the *fichier des écritures comptables* (LPF art.
A47 A-1), dates as YYYYMMDD, amounts with a decimal comma and no thousands separator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shop.config import AccountingSettings
from shop.invoices import Document, DocumentKind
from shop.money import Money, currency_exponent

FEC_COLUMNS = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)
FEES_JOURNAL = ("ST", "Stripe")  # fees go to their own journal: they are not sales

# The lines of the CA3 return (3310-CA3) where the base and the VAT of a rate go;
# 2,1 % is a "taux particulier" declared on its annex 3310-A.
CA3_LINES: dict[Decimal, str] = {
    Decimal(20): "08",
    Decimal(10): "9B",
    Decimal("5.5"): "09",
    Decimal("2.1"): "3310-A",
}


@dataclass(frozen=True, slots=True)
class JournalLine:
    account: str
    account_label: str
    label: str
    debit: int  # minor units; one of debit and credit is 0
    credit: int


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One balanced entry: a document (or a fee), its date, and its lines."""

    journal: str
    journal_label: str
    number: str  # EcritureNum
    date: dt.date
    piece: str  # PieceRef: the document's number
    piece_date: dt.date
    currency: str
    lines: tuple[JournalLine, ...]

    @property
    def debit(self) -> int:
        return sum(line.debit for line in self.lines)

    @property
    def credit(self) -> int:
        return sum(line.credit for line in self.lines)

    @property
    def balanced(self) -> bool:
        return self.debit == self.credit


def _rate_text(rate: Decimal) -> str:
    return f"{rate.normalize():f}".replace(".", ",") + " %"


def sales_entry(number: str, document: Document, accounts: AccountingSettings) -> JournalEntry:
    """The journal entry of an invoice (or, reversed, of a credit note) numbered ``number``."""
    invoice = document.kind == DocumentKind.INVOICE
    kind = "Facture" if invoice else "Avoir"
    label = f"{kind} {number} commande {document.order_number}"[:200]
    # Per (account, rate): net; per rate: VAT. Shipping lines are those with a description
    # but no SKU on an invoice (and on a credit note that repeats the invoice's lines).
    sales: dict[tuple[str, str, Decimal], int] = {}
    vat: dict[Decimal, int] = {}
    for line in document.lines:
        shipping = not line.sku and bool(line.description)
        account = (
            accounts.shipping_account(line.rate) if shipping else accounts.sales_account(line.rate)
        )
        title = "Ports facturés" if shipping else "Ventes de marchandises"
        key = (account, title, line.rate)
        sales[key] = sales.get(key, 0) + line.net.amount
        vat[line.rate] = vat.get(line.rate, 0) + line.vat.amount

    def side(amount: int, customer: bool) -> tuple[int, int]:
        """(debit, credit): an invoice debits the customer and credits the rest."""
        return (amount, 0) if invoice == customer else (0, amount)

    lines = [JournalLine(accounts.customers, "Clients", label, *side(document.gross.amount, True))]
    for (account, title, rate), net in sorted(sales.items(), key=lambda i: (i[0][2], i[0][0])):
        if net:
            lines.append(
                JournalLine(account, f"{title} {_rate_text(rate)}", label, *side(net, False))
            )
    for rate, amount in sorted(vat.items()):
        if amount:
            lines.append(
                JournalLine(
                    accounts.vat_account(rate),
                    f"TVA collectée {_rate_text(rate)}",
                    label,
                    *side(amount, False),
                )
            )
    return JournalEntry(
        journal=accounts.journal,
        journal_label=accounts.journal_label,
        number=number,
        date=document.issued_on,
        piece=number,
        piece_date=document.issued_on,
        currency=document.currency,
        lines=tuple(lines),
    )


def fee_entry(
    number: str, document: Document, fee: Money, on: dt.date, accounts: AccountingSettings
) -> JournalEntry:
    """Stripe's fee on the payment of invoice ``number``: debit the fees account, credit
    the Stripe balance (Stripe keeps its fee from what it pays out)."""
    label = f"Frais Stripe {number} commande {document.order_number}"[:200]
    return JournalEntry(
        journal=FEES_JOURNAL[0],
        journal_label=FEES_JOURNAL[1],
        number=f"S-{number}",
        date=on,
        piece=number,
        piece_date=document.issued_on,
        currency=fee.currency,
        lines=(
            JournalLine(accounts.fees, "Frais et commissions Stripe", label, fee.amount, 0),
            JournalLine(accounts.stripe, "Stripe", label, 0, fee.amount),
        ),
    )


def fec_amount(amount: int, currency: str) -> str:
    """``1234,56``: the FEC's decimal comma, no thousands separator."""
    return Money(amount, currency).to_text().replace(".", ",")


def fec_date(day: dt.date) -> str:
    return f"{day:%Y%m%d}"


def fec_rows(entries: Iterable[JournalEntry], book_currency: str = "EUR") -> list[list[str]]:
    """The FEC's rows (without its header, ``FEC_COLUMNS``), entry after entry.

    Amounts in another currency than the books' are also given as Montantdevise/Idevise.
    """
    rows: list[list[str]] = []
    for entry in entries:
        foreign = entry.currency != book_currency
        for line in entry.lines:
            amount = line.debit or line.credit
            rows.append(
                [
                    entry.journal,
                    entry.journal_label,
                    entry.number,
                    fec_date(entry.date),
                    line.account,
                    line.account_label,
                    "",
                    "",
                    entry.piece,
                    fec_date(entry.piece_date),
                    line.label,
                    fec_amount(line.debit, entry.currency),
                    fec_amount(line.credit, entry.currency),
                    "",
                    "",
                    fec_date(entry.date),
                    fec_amount(amount, entry.currency) if foreign else "",
                    entry.currency if foreign else "",
                ]
            )
    return rows


# -- VAT per rate ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VatRate:
    """A rate's figures for a period: what was invoiced, what credit notes gave back."""

    rate: Decimal
    currency: str
    invoiced_net: int = 0
    invoiced_vat: int = 0
    credited_net: int = 0
    credited_vat: int = 0

    @property
    def net(self) -> int:
        """The base HT to declare: invoiced, net of the credit notes."""
        return self.invoiced_net - self.credited_net

    @property
    def vat(self) -> int:
        return self.invoiced_vat - self.credited_vat

    @property
    def ca3_line(self) -> str:
        return CA3_LINES.get(self.rate, "")


def vat_by_rate(documents: Iterable[Document]) -> list[VatRate]:
    """VAT collected per rate over ``documents`` (credit notes deducted), by rate, highest
    first as on the CA3."""
    found: dict[Decimal, VatRate] = {}
    for document in documents:
        invoice = document.kind == DocumentKind.INVOICE
        for total in document.rates:
            was = found.get(total.rate, VatRate(total.rate, document.currency))
            if invoice:
                found[total.rate] = VatRate(
                    total.rate,
                    was.currency,
                    was.invoiced_net + total.net.amount,
                    was.invoiced_vat + total.vat.amount,
                    was.credited_net,
                    was.credited_vat,
                )
            else:
                found[total.rate] = VatRate(
                    total.rate,
                    was.currency,
                    was.invoiced_net,
                    was.invoiced_vat,
                    was.credited_net + total.net.amount,
                    was.credited_vat + total.vat.amount,
                )
    return sorted(found.values(), key=lambda r: -r.rate)


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """(first day, last day) of ``YYYY-MM``; ValueError otherwise."""
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ValueError(f"{month!r} is not a month written as 2026-03") from None
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def decimal_text(amount: int, currency: str) -> str:
    """``1234.56``: a plain amount for CSV and JSON-minded tools."""
    exponent = currency_exponent(currency)
    return f"{Decimal(amount).scaleb(-exponent):.{exponent}f}"


def totals(entries: Sequence[JournalEntry]) -> tuple[int, int]:
    """(debits, credits) over ``entries``."""
    return sum(e.debit for e in entries), sum(e.credit for e in entries)
