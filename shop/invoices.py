"""Invoices and credit notes: what they say, derived from an order (pure functions).

French law (Code de commerce L441-9, CGI art. 242 nonies A) wants every sale invoiced,
in one chronological sequence without gaps: invoices (``F-2026-000001``) and credit
notes (``A-2026-000002``, *avoirs*) share one sequence per calendar year, the letter
only telling them apart, so the sequence number alone identifies a document of the
year. The store hands out the numbers (``Store.issue_document``); this module builds
what a document says and its codec, and never numbers anything.

Money. Prices include VAT and the order's VAT is computed once per rate
(``shop.pricing``): a document's lines take that VAT per rate as given and spread it
over the lines of the rate in proportion to their amounts (largest remainder), so
every line shows HT + VAT = TTC, and the totals per rate, and the grand total, equal
the order's to the cent. Shipping is shown as one line per rate it was taxed at.

Amounts on a credit note are positive: the document's kind says they are given back.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shop.config import ShopConfig
from shop.money import Money
from shop.orders import Order, OrderStatus
from shop.pricing import allocate, round_half_up

FORMAT = 1  # of encoded documents; bump it, and read the old one, on a change
SEQUENCE_DIGITS = 6


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


PREFIXES: Mapping[DocumentKind, str] = {DocumentKind.INVOICE: "F", DocumentKind.CREDIT_NOTE: "A"}
_NUMBER = re.compile(r"^([FA])-(\d{4})-(\d{1,9})$")


class DocumentFormatError(ValueError):
    """A stored document this version cannot read; says why."""


def document_number(kind: DocumentKind, year: int, sequence: int) -> str:
    """``F-2026-000001``: the kind's letter, the year, the sequence number of that year."""
    return f"{PREFIXES[kind]}-{year}-{sequence:0{SEQUENCE_DIGITS}d}"


def parse_document_number(text: str) -> tuple[DocumentKind, int, int]:
    """(kind, year, sequence) of a number ``document_number`` wrote; ValueError otherwise."""
    found = _NUMBER.match(text.strip().upper())
    if found is None:
        raise ValueError(f"{text!r} is not a document number such as F-2026-000001")
    kind = next(k for k, prefix in PREFIXES.items() if prefix == found.group(1))
    return kind, int(found.group(2)), int(found.group(3))


# -- values -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seller:
    company: str
    legal_form: str | None
    address: str
    registration: str  # e.g. "RCS Lyon 912 345 678"
    vat_number: str
    email: str


@dataclass(frozen=True, slots=True)
class Buyer:
    name: str
    email: str
    address: tuple[str, ...]  # the lines of the postal address; () for a pickup


@dataclass(frozen=True, slots=True)
class DocumentLine:
    description: str
    sku: str  # "" for shipping and partial refunds
    quantity: int
    unit_price: Money  # VAT included, before discounts
    discount: Money  # VAT included
    rate: Decimal  # percent
    net: Money  # HT
    vat: Money
    gross: Money  # TTC = net + vat

    @property
    def unit_net(self) -> Money:
        """The unit price without VAT, rounded half up to the cent (shown, never summed)."""
        exact = Decimal(self.unit_price.amount) * 100 / (100 + self.rate)
        return Money(round_half_up(exact), self.unit_price.currency)


@dataclass(frozen=True, slots=True)
class RateTotal:
    rate: Decimal
    net: Money
    vat: Money
    gross: Money


@dataclass(frozen=True, slots=True)
class Document:
    """An invoice or a credit note, as issued: everything it prints but its number."""

    kind: DocumentKind
    issued_on: dt.date  # in the shop's time zone; its year is the sequence's
    language: str
    currency: str
    seller: Seller
    buyer: Buyer
    order_number: str
    session_id: str
    lines: tuple[DocumentLine, ...]
    rates: tuple[RateTotal, ...]
    paid_on: dt.date  # when the money moved: the payment, or the refund
    payment_method: str  # how: "stripe" (online, through Stripe)
    corrects: str | None = None  # a credit note's invoice number

    @property
    def net(self) -> Money:
        return _sum((r.net for r in self.rates), self.currency)

    @property
    def vat(self) -> Money:
        return _sum((r.vat for r in self.rates), self.currency)

    @property
    def gross(self) -> Money:
        return _sum((r.gross for r in self.rates), self.currency)


# -- building -------------------------------------------------------------------------


def seller_of(config: ShopConfig) -> Seller:
    legal = config.legal
    return Seller(
        company=legal.company,
        legal_form=legal.legal_form,
        address=legal.address,
        registration=legal.registration,
        vat_number=legal.vat_number,
        email=legal.email,
    )


def paid_at(order: Order) -> dt.datetime:
    """When the order was paid: its move to ``paid``, else (paid at once) its creation."""
    moves = [e.at for e in order.history if e.status == OrderStatus.PAID]
    return moves[0] if moves else order.created_at


def invoice_for(order: Order, config: ShopConfig, issued_on: dt.date, paid_on: dt.date) -> Document:
    """The invoice of a paid order: one line per good, one per rate shipping was taxed at."""
    priced = order.priced
    currency = priced.currency
    goods: dict[Decimal, int] = {}
    for line in priced.lines:
        goods[line.tax_rate] = goods.get(line.tax_rate, 0) + line.total.amount
    drafts: list[tuple[str, str, int, int, int, Decimal, int]] = [
        (
            line.title,
            line.sku,
            line.quantity,
            line.unit_price.amount,
            line.discount.amount,
            line.tax_rate,
            line.total.amount,
        )
        for line in priced.lines
    ]
    delivery = priced.delivery
    for rate_vat in priced.vat:
        share = rate_vat.gross.amount - goods.get(rate_vat.rate, 0)
        if share > 0:  # the part of shipping taxed at this rate
            drafts.append((delivery.label, "", 1, share, 0, rate_vat.rate, share))
    vat_of = {v.rate: v.vat.amount for v in priced.vat}
    lines = _with_vat(drafts, vat_of, currency)
    return Document(
        kind=DocumentKind.INVOICE,
        issued_on=issued_on,
        language=config.language,
        currency=currency,
        seller=seller_of(config),
        buyer=_buyer(order),
        order_number=order.number,
        session_id=order.session_id,
        lines=lines,
        rates=_rates(lines, currency),
        paid_on=paid_on,
        payment_method="stripe",
    )


def credit_note_for(
    invoice: Document,
    invoice_number: str,
    amount: int,
    issued_on: dt.date,
    refunded_on: dt.date,
) -> Document:
    """The credit note of a refund of ``amount`` (minor units) of ``invoice``.

    The whole invoice refunded: its lines again. A part: one line per rate, the amount
    spread over the invoice's rates in proportion to their totals (a refund through
    Stripe names an amount, not lines), each rate's VAT derived from its part.
    Raises ValueError for an amount outside 1 .. the invoice's total.
    """
    total = invoice.gross.amount
    if not 0 < amount <= total:
        raise ValueError(f"a refund of {amount} does not fit an invoice of {total}")
    currency = invoice.currency
    if amount == total:
        lines = invoice.lines
    else:
        parts = allocate(amount, [r.gross.amount for r in invoice.rates])
        lines = tuple(
            _line(
                "",
                "",
                1,
                part,
                0,
                r.rate,
                part,
                round_half_up(part * r.rate / (100 + r.rate)),
                currency,
            )
            for r, part in zip(invoice.rates, parts, strict=True)
            if part
        )
    return Document(
        kind=DocumentKind.CREDIT_NOTE,
        issued_on=issued_on,
        language=invoice.language,
        currency=currency,
        seller=invoice.seller,
        buyer=invoice.buyer,
        order_number=invoice.order_number,
        session_id=invoice.session_id,
        lines=lines,
        rates=_rates(lines, currency),
        paid_on=refunded_on,
        payment_method=invoice.payment_method,
        corrects=invoice_number,
    )


def _buyer(order: Order) -> Buyer:
    address = order.shipping_address
    lines: tuple[str, ...] = ()
    if address is not None:
        lines = tuple(
            text
            for text in (
                address.line1,
                address.line2,
                f"{address.postal_code} {address.city}".strip(),
                address.country,
            )
            if text
        )
    name = order.customer_name or (address.name if address else "")
    return Buyer(name=name, email=order.email, address=lines)


def _with_vat(
    drafts: Sequence[tuple[str, str, int, int, int, Decimal, int]],
    vat_of: Mapping[Decimal, int],
    currency: str,
) -> tuple[DocumentLine, ...]:
    """Lines with each rate's VAT spread over that rate's lines by their amounts."""
    vats = [0] * len(drafts)
    for rate, vat in vat_of.items():
        indexes = [i for i, d in enumerate(drafts) if d[5] == rate]
        for index, part in zip(
            indexes, allocate(vat, [drafts[i][6] for i in indexes]), strict=True
        ):
            vats[index] = part
    return tuple(_line(*draft, vats[i], currency) for i, draft in enumerate(drafts))


def _line(
    description: str,
    sku: str,
    quantity: int,
    unit_price: int,
    discount: int,
    rate: Decimal,
    gross: int,
    vat: int,
    currency: str,
) -> DocumentLine:
    return DocumentLine(
        description=description,
        sku=sku,
        quantity=quantity,
        unit_price=Money(unit_price, currency),
        discount=Money(discount, currency),
        rate=rate,
        net=Money(gross - vat, currency),
        vat=Money(vat, currency),
        gross=Money(gross, currency),
    )


def _rates(lines: Sequence[DocumentLine], currency: str) -> tuple[RateTotal, ...]:
    totals: dict[Decimal, tuple[int, int]] = {}
    for line in lines:
        net, vat = totals.get(line.rate, (0, 0))
        totals[line.rate] = (net + line.net.amount, vat + line.vat.amount)
    return tuple(
        RateTotal(rate, Money(net, currency), Money(vat, currency), Money(net + vat, currency))
        for rate, (net, vat) in sorted(totals.items())
    )


def _sum(amounts: Any, currency: str) -> Money:
    return sum(amounts, Money.zero(currency))


# -- the codec --------------------------------------------------------------------------


def encode_document(document: Document) -> dict[str, Any]:
    """``document`` as a JSON-able dict that ``decode_document`` reads back exactly."""
    seller, buyer = document.seller, document.buyer
    return {
        "format": FORMAT,
        "kind": document.kind.value,
        "issued_on": document.issued_on.isoformat(),
        "language": document.language,
        "currency": document.currency,
        "seller": {
            "company": seller.company,
            "legal_form": seller.legal_form,
            "address": seller.address,
            "registration": seller.registration,
            "vat_number": seller.vat_number,
            "email": seller.email,
        },
        "buyer": {"name": buyer.name, "email": buyer.email, "address": list(buyer.address)},
        "order_number": document.order_number,
        "session_id": document.session_id,
        "lines": [
            {
                "description": line.description,
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": line.unit_price.amount,
                "discount": line.discount.amount,
                "rate": str(line.rate),
                "vat": line.vat.amount,
                "gross": line.gross.amount,
            }
            for line in document.lines
        ],
        "paid_on": document.paid_on.isoformat(),
        "payment_method": document.payment_method,
        "corrects": document.corrects,
    }


def decode_document(data: Mapping[str, Any]) -> Document:
    """The document ``encode_document`` wrote; raises DocumentFormatError otherwise."""
    if data.get("format") != FORMAT:
        raise DocumentFormatError(f"document format {data.get('format')!r}, expected {FORMAT}")
    try:
        currency = str(data["currency"])
        seller, buyer = data["seller"], data["buyer"]
        lines = tuple(
            _line(
                str(line["description"]),
                str(line["sku"]),
                int(line["quantity"]),
                int(line["unit_price"]),
                int(line["discount"]),
                Decimal(str(line["rate"])),
                int(line["gross"]),
                int(line["vat"]),
                currency,
            )
            for line in data["lines"]
        )
        return Document(
            kind=DocumentKind(data["kind"]),
            issued_on=dt.date.fromisoformat(str(data["issued_on"])),
            language=str(data["language"]),
            currency=currency,
            seller=Seller(
                company=str(seller["company"]),
                legal_form=None if seller["legal_form"] is None else str(seller["legal_form"]),
                address=str(seller["address"]),
                registration=str(seller["registration"]),
                vat_number=str(seller["vat_number"]),
                email=str(seller["email"]),
            ),
            buyer=Buyer(
                name=str(buyer["name"]),
                email=str(buyer["email"]),
                address=tuple(str(a) for a in buyer["address"]),
            ),
            order_number=str(data["order_number"]),
            session_id=str(data["session_id"]),
            lines=lines,
            rates=_rates(lines, currency),
            paid_on=dt.date.fromisoformat(str(data["paid_on"])),
            payment_method=str(data["payment_method"]),
            corrects=None if data["corrects"] is None else str(data["corrects"]),
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as error:
        raise DocumentFormatError(f"document: {error!r}") from error
