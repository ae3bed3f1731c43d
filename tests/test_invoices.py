"""Invoices and credit notes: what they say adds up to the order, cent for cent; their PDF
says it, the same bytes every time; numbers follow each other without gaps."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.backroom.invoices import (
    NumberedDocument,
    invoice_attachments,
    issue_credit_notes,
    issue_invoice,
)
from functions.invoice_pdf import document_pdf
from functions.pdf import encode_text, text_width
from functions.sqlite_store import SQLiteStore
from shop.invoices import (
    DocumentKind,
    credit_note_for,
    decode_document,
    document_number,
    encode_document,
    invoice_for,
    parse_document_number,
)
from shop.orders import Address, Order, OrderEvent, OrderStatus, priced_order
from shop.pricing import CartLine, quote_cart
from shop.published import PublishedShop
from tests.store_contract import run_together
from tests.test_emails import example_shop

PAID = dt.datetime(2026, 9, 14, 8, 32, tzinfo=dt.UTC)
DAY = dt.date(2026, 9, 14)
SKUS = ["THE-SENCHA-50", "THE-ASSAM-100", "CER-CHAWAN", "ACC-CHASEN", "CER-YUNOMI-BLEU"]


@pytest.fixture(scope="module")
def shop() -> PublishedShop:
    return example_shop()


def order_of(
    shop: PublishedShop,
    cart: Sequence[tuple[str, int]],
    *,
    code: str | None = None,
    method: str | None = None,
    session: str = "cs_test_1",
    status: OrderStatus = OrderStatus.PAID,
) -> Order:
    quote = quote_cart(
        shop.catalogue,
        shop.config,
        [CartLine(sku, quantity) for sku, quantity in cart],
        country="FR",
        promo_code=code,
        shipping_method=method,
        today=DAY,
    )
    pickup = quote.shipping is not None and quote.shipping.pickup
    return Order(
        session_id=session,
        number=f"CT-20260914-{session[-6:].upper()}",
        status=status,
        created_at=PAID,
        email="camille@example.fr",
        customer_name="Camille Martin",
        language="fr",
        priced=priced_order(quote),
        shipping_address=None
        if pickup
        else Address("Camille Martin", "3 rue des Tisserands", "Bât. B", "69001", "Lyon", "FR"),
        marketing_consent=False,
    )


def pdf_text(pdf: bytes) -> list[str]:
    """The strings a PDF of ``functions.pdf`` shows, in drawing order."""
    found = re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", pdf)
    return [re.sub(rb"\\(.)", rb"\1", raw).decode("cp1252") for raw in found]


def amounts(texts: Sequence[str]) -> list[str]:
    return [t for t in texts if t.endswith("€")]


# -- the document, from the order --------------------------------------------------------


def test_a_mixed_basket_is_invoiced_per_line_and_per_rate(shop: PublishedShop) -> None:
    order = order_of(shop, [("THE-SENCHA-50", 2), ("CER-CHAWAN", 1)])
    invoice = invoice_for(order, shop.config, DAY, DAY)
    priced = order.priced
    assert invoice.gross == order.total
    assert [(r.rate, r.gross, r.vat) for r in invoice.rates] == [
        (v.rate, v.gross, v.vat) for v in priced.vat
    ]
    for line in invoice.lines:
        assert line.net + line.vat == line.gross
    goods = invoice.lines[: len(priced.lines)]
    assert [(line.sku, line.quantity) for line in goods] == [
        ("THE-SENCHA-50", 2),
        ("CER-CHAWAN", 1),
    ]
    shipping = invoice.lines[len(priced.lines) :]
    # Shipping follows the goods: one line at each of the two rates, adding up to its price.
    assert sorted(line.rate for line in shipping) == [Decimal("5.5"), Decimal("20")]
    assert sum(line.gross.amount for line in shipping) == priced.delivery.price.amount > 0
    assert invoice.seller.registration == shop.config.legal.registration
    assert invoice.buyer.address == ("3 rue des Tisserands", "Bât. B", "69001 Lyon", "FR")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cart=st.lists(
        st.tuples(st.sampled_from(SKUS), st.integers(1, 12)),
        min_size=1,
        max_size=5,
        unique_by=lambda line: line[0],
    ),
    method=st.sampled_from([None, "retrait"]),
    refunds=st.lists(st.integers(1, 10_000), max_size=3),
)
def test_documents_add_up_to_the_order_to_the_cent(
    shop: PublishedShop, cart: list[tuple[str, int]], method: str | None, refunds: list[int]
) -> None:
    methods = {m.id for z in shop.config.shipping_zones for m in z.methods}
    order = order_of(shop, cart, method=method if method in methods else None)
    invoice = invoice_for(order, shop.config, DAY, DAY)
    assert invoice.gross == order.total
    assert invoice.vat.amount == sum(v.vat.amount for v in order.priced.vat)
    assert all(line.net + line.vat == line.gross for line in invoice.lines)
    assert all(0 <= line.vat.amount <= line.gross.amount for line in invoice.lines)
    assert decode_document(encode_document(invoice)) == invoice
    left = invoice.gross.amount
    for amount in refunds:
        if not left:
            break
        note = credit_note_for(invoice, "F-2026-000001", min(amount, left), DAY, DAY)
        assert note.gross.amount == min(amount, left)
        assert all(line.net + line.vat == line.gross for line in note.lines)
        assert decode_document(encode_document(note)) == note
        left -= note.gross.amount


def test_a_full_refund_repeats_the_invoice_and_a_part_splits_over_its_rates(
    shop: PublishedShop,
) -> None:
    order = order_of(shop, [("THE-SENCHA-50", 2), ("CER-CHAWAN", 1)])
    invoice = invoice_for(order, shop.config, DAY, DAY)
    full = credit_note_for(invoice, "F-2026-000007", invoice.gross.amount, DAY, DAY)
    assert (full.kind, full.corrects, full.lines) == (
        DocumentKind.CREDIT_NOTE,
        "F-2026-000007",
        invoice.lines,
    )
    part = credit_note_for(invoice, "F-2026-000007", 1000, DAY, DAY)
    assert part.gross.amount == 1000
    assert {line.rate for line in part.lines} == {Decimal("5.5"), Decimal("20")}
    with pytest.raises(ValueError):
        credit_note_for(invoice, "F-2026-000007", invoice.gross.amount + 1, DAY, DAY)


def test_numbers_are_written_and_read_back() -> None:
    assert document_number(DocumentKind.INVOICE, 2026, 1) == "F-2026-000001"
    assert document_number(DocumentKind.CREDIT_NOTE, 2026, 42) == "A-2026-000042"
    assert parse_document_number(" a-2026-000042 ") == (DocumentKind.CREDIT_NOTE, 2026, 42)
    for wrong in ("F-26-1", "X-2026-000001", "F-2026-", "2026-000001"):
        with pytest.raises(ValueError):
            parse_document_number(wrong)


# -- the PDF ---------------------------------------------------------------------------


def test_the_pdf_prints_the_legal_mentions_and_the_orders_totals(shop: PublishedShop) -> None:
    order = order_of(shop, [("THE-SENCHA-50", 2), ("CER-CHAWAN", 1)])
    invoice = invoice_for(order, shop.config, DAY, DAY)
    pdf = document_pdf("F-2026-000001", invoice, shop)
    assert pdf.startswith(b"%PDF-1.4\n") and pdf.endswith(b"%%EOF\n")
    assert pdf == document_pdf("F-2026-000001", invoice, shop)  # byte for byte
    texts = pdf_text(pdf)
    legal = shop.config.legal
    for expected in (
        "FACTURE",
        "N° F-2026-000001",
        "Date : 14 septembre 2026",
        f"Commande : {order.number}",
        legal.company,
        legal.address,
        legal.registration,
        f"N° TVA : {legal.vat_number}",
        "Facturé à",
        "Camille Martin",
        "69001 Lyon",
        "Facture acquittée : payée en ligne (Stripe) le 14 septembre 2026.",
        "Pas d'escompte pour paiement anticipé.",
        "5,5\xa0%",
        "20\xa0%",
    ):
        assert expected.replace("\u202f", "\xa0") in texts, expected
    shown = amounts(texts)
    total = order.total.format("fr_FR").replace("\u202f", "\xa0")
    assert total in shown
    for rate in order.priced.vat:  # totals per rate: HT, VAT, TTC
        for money in (rate.gross - rate.vat, rate.vat, rate.gross):
            assert money.format("fr_FR").replace("\u202f", "\xa0") in shown
    # What the PDF prints is the document: parsed back, its last amount is the total.
    index = texts.index("Total TTC")
    assert texts[index + 1] == total


def test_a_credit_note_names_the_invoice_it_corrects(shop: PublishedShop) -> None:
    order = order_of(shop, [("CER-CHAWAN", 1)])
    invoice = invoice_for(order, shop.config, DAY, DAY)
    note = credit_note_for(invoice, "F-2026-000003", 1500, DAY, DAY)
    texts = pdf_text(document_pdf("A-2026-000004", note, shop))
    assert "AVOIR" in texts
    assert "Avoir sur la facture F-2026-000003" in texts
    assert "Remboursement partiel de la facture F-2026-000003" in " ".join(texts)  # wrapped
    assert texts[texts.index("Total remboursé TTC") + 1] == "15,00\xa0€"


def test_a_long_order_runs_over_pages_and_each_is_numbered(shop: PublishedShop) -> None:
    order = order_of(shop, [(sku, 1) for sku in SKUS])
    long = order.priced.lines * 12
    priced = order.priced.__class__(**{**_fields(order.priced), "lines": long})
    invoice = invoice_for(
        order.__class__(**{**_fields(order), "priced": priced}), shop.config, DAY, DAY
    )
    texts = pdf_text(document_pdf("F-2026-000009", invoice, shop))
    footers = [t for t in texts if " — Page " in t]
    assert footers == [f"F-2026-000009 — Page {n} sur 3" for n in (1, 2, 3)]


def _fields(value: object) -> dict[str, object]:
    return {name: getattr(value, name) for name in value.__dataclass_fields__}  # type: ignore[attr-defined]


def test_text_outside_windows_1252_degrades_readably() -> None:
    assert encode_text("Thé « vert » – 24,90\u202f€") == "Thé « vert » – 24,90\xa0€".encode(
        "cp1252"
    )
    assert encode_text("Ćma\nnaïve") == b"Cma na\xefve"
    assert encode_text("Łódź 漢") == b"?\xf3dz ?"
    assert text_width("€", 10) == 5.56


# -- issuing: numbers, idempotency, races -------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "store.sqlite3")


def test_an_invoice_is_issued_once_per_order(shop: PublishedShop, store: SQLiteStore) -> None:
    order = order_of(shop, [("CER-CHAWAN", 1)])
    first = issue_invoice(store, shop, order, PAID)
    again = issue_invoice(store, shop, order, PAID + dt.timedelta(days=3))
    assert first == again and first.number == "F-2026-000001"
    other = issue_invoice(store, shop, order_of(shop, [("CER-CHAWAN", 2)], session="cs_2"), PAID)
    assert other.number == "F-2026-000002"


def test_the_year_is_the_shops_on_new_years_eve(shop: PublishedShop, store: SQLiteStore) -> None:
    order = order_of(shop, [("CER-CHAWAN", 1)])
    late = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)  # 00:30 on 1 January in Paris
    assert issue_invoice(store, shop, order, late).number == "F-2027-000001"


def test_a_pending_order_is_not_invoiced_until_paid(
    shop: PublishedShop, store: SQLiteStore
) -> None:
    pending = order_of(shop, [("CER-CHAWAN", 1)], status=OrderStatus.PENDING)
    assert invoice_attachments(store, shop, pending, PAID) == []
    assert issue_credit_notes(store, shop, pending, 1000, PAID) == []
    assert store.list_documents(2026) == []
    cleared = pending.moved(
        OrderStatus.PAID, "async_payment_succeeded", PAID + dt.timedelta(days=2)
    )
    [attachment] = invoice_attachments(store, shop, cleared, PAID + dt.timedelta(days=2))
    assert attachment.filename == "F-2026-000001.pdf"
    texts = pdf_text(attachment.content)
    assert "Facture acquittée : payée en ligne (Stripe) le 16 septembre 2026." in texts


def test_credit_notes_add_up_to_what_was_refunded_whatever_the_order_of_events(
    shop: PublishedShop, store: SQLiteStore
) -> None:
    order = order_of(shop, [("CER-CHAWAN", 2)])
    invoice = issue_invoice(store, shop, order, PAID)
    # Refunds of 10 €, then 30 € more (40 € in all): the later event arrives first.
    notes = issue_credit_notes(store, shop, order, 4000, PAID)
    assert [n.document.gross.amount for n in notes] == [4000]
    assert issue_credit_notes(store, shop, order, 1000, PAID) == notes  # nothing more to credit
    assert issue_credit_notes(store, shop, order, 4000, PAID) == notes  # a replay
    notes = issue_credit_notes(store, shop, order, order.total.amount, PAID)
    assert sum(n.document.gross.amount for n in notes) == order.total.amount
    assert [n.number for n in notes] == ["A-2026-000002", "A-2026-000003"]
    assert {n.document.corrects for n in notes} == {invoice.number}


def test_racing_refund_events_credit_the_refunded_sum_once(
    shop: PublishedShop, tmp_path: Path
) -> None:
    path = tmp_path / "store.sqlite3"
    handles = [SQLiteStore(path) for _ in range(4)]
    order = order_of(shop, [("CER-CHAWAN", 2)])
    issue_invoice(handles[0], shop, order, PAID)
    cumulative = [1000, 3000, 1000, 3000, 5000, 5000, 3000, 1000]

    def deliver(index: int) -> list[NumberedDocument]:
        return issue_credit_notes(handles[index % 4], shop, order, cumulative[index], PAID)

    outcomes = run_together(len(cumulative), deliver)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    documents = handles[0].list_documents(2026)
    assert [d.sequence for d in documents] == list(range(1, len(documents) + 1))
    credited = sum(decode_document(d.body).gross.amount for d in documents[1:])
    assert credited == 5000


def test_concurrent_webhooks_invoice_every_order_once_without_gaps(
    shop: PublishedShop, tmp_path: Path
) -> None:
    path = tmp_path / "store.sqlite3"
    handles = [SQLiteStore(path) for _ in range(4)]
    orders = [order_of(shop, [("CER-CHAWAN", 1)], session=f"cs_{i:06d}") for i in range(10)]

    def deliver(index: int) -> str:
        return issue_invoice(handles[index % 4], shop, orders[index % 10], PAID).number

    outcomes = run_together(30, deliver)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    by_order: dict[str, set[object]] = {}
    for index, number in enumerate(outcomes):
        by_order.setdefault(orders[index % 10].session_id, set()).add(number)
    assert all(len(numbers) == 1 for numbers in by_order.values())
    assert sorted(n for numbers in by_order.values() for n in numbers) == [
        f"F-2026-{i:06d}" for i in range(1, 11)
    ]


def test_the_payment_date_is_the_move_to_paid(shop: PublishedShop) -> None:
    order = order_of(shop, [("CER-CHAWAN", 1)], status=OrderStatus.PENDING)
    later = dt.datetime(2026, 9, 17, 9, 0, tzinfo=dt.UTC)
    paid = order.moved(OrderStatus.PAID, "cleared", later)
    assert paid.history[-1] == OrderEvent(later, OrderStatus.PAID, "cleared")
    from shop.invoices import paid_at

    assert paid_at(paid) == later and paid_at(order) == PAID


def test_the_confirmation_with_its_invoice_is_deterministic_and_7bit(
    shop: PublishedShop, store: SQLiteStore
) -> None:
    from email import message_from_bytes, policy

    from functions.emails import confirmation_email

    order = order_of(shop, [("CER-CHAWAN", 1)])
    attachments = invoice_attachments(store, shop, order, PAID)
    mail = confirmation_email(order, shop, attachments)
    assert mail == confirmation_email(order, shop, attachments)  # same bytes, boundaries too
    assert all(byte < 128 for byte in mail.message)
    assert max(len(line) for line in mail.message.splitlines()) <= 78
    parsed = message_from_bytes(mail.message, policy=policy.default)
    [pdf] = list(parsed.iter_attachments())  # type: ignore[attr-defined]
    assert (pdf.get_content_type(), pdf.get_filename()) == ("application/pdf", "F-2026-000001.pdf")
    assert pdf.get_content() == attachments[0].content
    assert parsed.get_body(("plain",)) is not None  # type: ignore[attr-defined]
