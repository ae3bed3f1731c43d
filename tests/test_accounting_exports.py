"""`comptoir export orders|journal|vat` on real orders: bought through the emulator,
invoiced, partly refunded (a credit note), then exported through the command line.

The journal balances, entry by entry and in all, and its totals are the invoices' and
credit notes' to the cent; the VAT per rate is theirs; the order lines add up to the orders.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from comptoir.cli import main
from comptoir.local import LocalStack
from functions.payments import StripePayments
from shop.accounting import FEC_COLUMNS, fec_rows, sales_entry
from shop.config import AccountingSettings
from shop.invoices import DocumentKind, decode_document
from tests.apishop import built_shop, running_stack
from tests.test_checkout_flow import pay, session_of, wait_for


def today() -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo("Europe/Paris")).date()


def cents(text: str) -> int:
    """``12,34`` or ``12.34`` -> 1234."""
    return int(Decimal(text.replace(",", ".")) * 100)


@pytest.fixture(scope="module")
def shop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_shop(tmp_path_factory.mktemp("accounting"))


@pytest.fixture
def stack(shop_root: Path, tmp_path: Path) -> Iterator[tuple[str, LocalStack]]:
    with running_stack(shop_root, tmp_path) as running:
        yield running


def buy(origin: str, items: list[tuple[str, int]], **extra: str) -> str:
    body = {"items": [{"sku": s, "quantity": q} for s, q in items], "country": "FR", **extra}
    response = httpx.post(
        origin + "/api/checkout", json=body, headers={"origin": origin}, timeout=30
    )
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    pay(url)
    return session_of(url)


def export(shop: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["export", *args, "--shop", str(shop)])
    out, err = capsys.readouterr()
    return code, out, err


def test_exports_add_up_to_the_invoices(
    stack: tuple[str, LocalStack],
    shop_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    origin, local = stack
    store = local.store
    first = buy(origin, [("BOL-BLEU", 2), ("THE-SENCHA-50", 1)], promo_code="BIENVENUE10")
    second = buy(origin, [("THE-SENCHA-50", 3)])
    for session in (first, second):
        wait_for(lambda s=session: store.find_document(f"invoice:{s}"))
    checkout = store.get_checkout(first)
    assert checkout is not None and checkout.payment_intent
    StripePayments(local.settings).refund(checkout.payment_intent, 1000, f"t-{first}")
    wait_for(lambda: store.find_document(f"credit:{first}:1"))

    monkeypatch.setenv("COMPTOIR_STORE", str(tmp_path / "store.sqlite3"))
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    day = today().isoformat()
    year = today().year
    documents = [decode_document(d.body) for d in store.list_documents(year)]
    invoices = [d for d in documents if d.kind == DocumentKind.INVOICE]
    notes = [d for d in documents if d.kind == DocumentKind.CREDIT_NOTE]
    assert (len(invoices), len(notes)) == (2, 1)

    # -- the journal: FEC columns, balanced, its totals the documents' ------------------
    target = tmp_path / "FEC.txt"
    code, _, err = export(
        shop_root, capsys, "journal", "--from", day, "--to", day, "-o", str(target)
    )
    assert code == 0, err
    lines = target.read_bytes().decode("utf-8").split("\r\n")
    assert lines[-1] == ""
    rows = [line.split("\t") for line in lines[:-1]]
    assert tuple(rows[0]) == FEC_COLUMNS and len(FEC_COLUMNS) == 18
    rows = rows[1:]
    assert all(len(row) == 18 for row in rows)
    column = {name: index for index, name in enumerate(FEC_COLUMNS)}

    def amounts(account: str, side: str) -> int:
        return sum(cents(r[column[side]]) for r in rows if r[column["CompteNum"]] == account)

    entries = {r[column["EcritureNum"]] for r in rows}
    assert entries == {f"F-{year}-000001", f"F-{year}-000002", f"A-{year}-000003"}
    for number in entries:  # every entry balances on its own
        own = [r for r in rows if r[column["EcritureNum"]] == number]
        assert sum(cents(r[column["Debit"]]) for r in own) == sum(
            cents(r[column["Credit"]]) for r in own
        )
        assert {r[column["EcritureDate"]] for r in own} == {today().strftime("%Y%m%d")}
        assert {r[column["PieceRef"]] for r in own} == {number}
    debits = sum(cents(r[column["Debit"]]) for r in rows)
    credits = sum(cents(r[column["Credit"]]) for r in rows)
    assert debits == credits
    assert amounts("411000", "Debit") == sum(d.gross.amount for d in invoices)
    assert amounts("411000", "Credit") == sum(d.gross.amount for d in notes) == 1000
    vat_invoiced = sum(d.vat.amount for d in invoices)
    vat_credited = sum(d.vat.amount for d in notes)
    assert amounts("445710", "Credit") == vat_invoiced
    assert amounts("445710", "Debit") == vat_credited
    sales = ("707000", "708500")
    assert sum(amounts(a, "Credit") for a in sales) == sum(d.net.amount for d in invoices)
    assert sum(amounts(a, "Debit") for a in sales) == sum(d.net.amount for d in notes)
    assert amounts("708500", "Credit") > 0  # the shipping of the orders, booked apart
    assert any("," in r[column["Debit"]] for r in rows) and not any(
        "." in r[column["Credit"]] for r in rows
    )
    assert all(r[column["JournalCode"]] == "VE" for r in rows)

    code, out, _ = export(
        shop_root, capsys, "journal", "--from", day, "--to", day, "--separator", "pipe"
    )
    assert code == 0 and out.splitlines()[0] == "|".join(FEC_COLUMNS)
    assert len(out.splitlines()) == len(rows) + 1

    # -- VAT per rate: the documents', credit notes deducted ------------------------------
    code, out, err = export(shop_root, capsys, "vat", "--month", day[:7], "--json")
    assert code == 0, err
    report = json.loads(out)
    for entry in report["rates"]:
        rate = Decimal(entry["rate"])
        invoiced = sum(r.vat.amount for d in invoices for r in d.rates if r.rate == rate)
        credited = sum(r.vat.amount for d in notes for r in d.rates if r.rate == rate)
        assert (entry["invoiced_vat"], entry["credited_vat"]) == (invoiced, credited)
        assert entry["vat"] == invoiced - credited
        base = sum(r.net.amount for d in invoices for r in d.rates if r.rate == rate)
        assert entry["net"] == base - sum(
            r.net.amount for d in notes for r in d.rates if r.rate == rate
        )
    assert [(e["rate"], e["ca3_line"]) for e in report["rates"]] == [("20", "08"), ("5.5", "09")]
    assert report["vat"] == vat_invoiced - vat_credited
    code, out, _ = export(shop_root, capsys, "vat", "--month", day[:7])
    assert code == 0
    assert out.splitlines()[2].split() == [
        "rate",
        "CA3",
        "line",
        "base",
        "HT",
        "VAT",
        "invoiced",
        "HT",
        "credited",
        "HT",
    ]
    assert "VAT due:" in out

    # -- the order lines: one per line, adding up to the orders -----------------------
    code, out, err = export(shop_root, capsys, "orders", "--from", day, "--to", day)
    assert code == 0, err
    records = list(csv.DictReader(io.StringIO(out)))
    orders = {s: store.get_order(s) for s in (first, second)}
    assert len(records) == 3
    for session, order in orders.items():
        assert order is not None
        own = [r for r in records if r["order"] == order.number]
        assert len(own) == len(order.priced.lines)
        total = sum(cents(r["total_ttc"]) for r in own) + sum(
            cents(r["shipping_ttc"]) for r in own if r["shipping_ttc"]
        )
        assert total == order.total.amount
        assert all(cents(r["net_ht"]) + cents(r["vat"]) == cents(r["total_ttc"]) for r in own)
        payment = store.get_checkout(session)
        assert payment is not None and payment.payment_intent
        assert {r["payment_reference"] for r in own} == {payment.payment_intent}
    discounted = [r for r in records if r["order"] == orders[first].number]  # type: ignore[union-attr]
    assert all(cents(r["discount_ttc"]) > 0 for r in discounted)  # BIENVENUE10
    assert {r["vat_rate"] for r in records} == {"20", "5.5"}
    code, out, _ = export(shop_root, capsys, "orders", "--from", "2000-01-01", "--to", "2000-01-31")
    assert code == 0 and out.strip() == ",".join(
        [
            "order",
            "date",
            "status",
            "sku",
            "title",
            "quantity",
            "unit_price_ttc",
            "discount_ttc",
            "net_ht",
            "vat_rate",
            "vat",
            "total_ttc",
            "shipping_ttc",
            "currency",
            "payment_reference",
        ]
    )


def test_mistakes_get_one_line_and_exit_1(
    shop_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COMPTOIR_STORE", str(tmp_path / "store.sqlite3"))
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    cases = [
        (
            ("journal", "--from", "2026-13-01", "--to", "2026-12-31"),
            "export journal: --from '2026-13-01': write a day as 2026-03-31",
        ),
        (
            ("orders", "--from", "2026-03-31", "--to", "2026-03-01"),
            "export orders: --to 2026-03-01 is before --from 2026-03-31: swap them.",
        ),
        (("vat", "--month", "2026-3"), "export vat: '2026-3' is not a month written as 2026-03."),
    ]
    for args, message in cases:
        code, out, err = export(shop_root, capsys, *args)
        assert (code, out, err.strip()) == (1, "", message)
    code, out, _ = export(shop_root, capsys, "vat", "--month", "2026-02")
    assert code == 0 and "No invoice or credit note this month." in out
    code, out, _ = export(
        shop_root, capsys, "journal", "--from", "2026-01-01", "--to", "2026-12-31"
    )
    assert (code, out) == (0, "\t".join(FEC_COLUMNS) + "\r\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", "vat", "--month", "2026-02", "--shop", str(empty)]) == 1
    assert "comptoir build" in capsys.readouterr().err


def test_a_credit_note_reverses_its_invoice_with_the_shop_accounts(shop_root: Path) -> None:
    """Accounts per rate from shop.yaml; a whole refund's entry is the invoice's mirror."""
    from shop.invoices import credit_note_for, invoice_for
    from shop.orders import Order, OrderStatus
    from shop.published import load, published_path
    from tests.test_orders_commands import priced

    config = load(published_path(shop_root)).config
    at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    order = Order(
        "cs_1", "CT-1", OrderStatus.PAID, at, "a@b.fr", "A B", "fr", priced(), None, False
    )
    day = dt.date(2026, 3, 2)
    invoice = invoice_for(order, config, day, day)
    later = dt.date(2026, 3, 9)
    note = credit_note_for(invoice, "F-2026-000001", invoice.gross.amount, later, later)
    accounts = AccountingSettings(
        sales_by_rate={Decimal(20): "707020", Decimal("5.5"): "707055"},
        vat_by_rate={Decimal(20): "445712"},
    )
    sold = sales_entry("F-2026-000001", invoice, accounts)
    credited = sales_entry("A-2026-000002", note, accounts)
    assert sold.balanced and credited.balanced and sold.debit == invoice.gross.amount
    assert [(line.account, line.debit, line.credit) for line in credited.lines] == [
        (line.account, line.credit, line.debit) for line in sold.lines
    ]
    accounts_used = {line.account for line in sold.lines}
    assert accounts_used == {"411000", "707020", "707055", "708500", "445712", "445710"}
    assert {row[3] for row in fec_rows([credited])} == {"20260309"}
