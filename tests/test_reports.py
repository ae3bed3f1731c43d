"""``comptoir report`` and ``comptoir customers list|segments|export-marketing|unsubscribe``,
through the command line, on the mini shop and a SQLite store holding orders of every kind."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from comptoir.cli import main
from functions.sqlite_store import SQLiteStore
from generator.build import build
from shop.money import Money
from shop.orders import (
    Address,
    Delivery,
    LineQuantity,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PricedOrder,
    Refund,
    RefundState,
    VatAmount,
)
from shop.reports import was_paid
from shop.returns import ReturnEvent, ReturnLine, ReturnRequest, ReturnSource, ReturnStatus
from tests.apishop import MINI

# 2026-01-31 23:30 UTC is already February in Paris, the shop's time zone.
NEW_YEAR_EVE_UTC = dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC)


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def order(
    session_id: str,
    at: dt.datetime,
    *,
    email: str = "camille@example.fr",
    name: str = "Camille Martin",
    bowls: int = 1,
    tea: int = 1,
    extra: str | None = None,
    status: OrderStatus = OrderStatus.PAID,
    refunded: int = 0,
) -> Order:
    """A priced order (bowls at 20 %, tea at 5.5 %, shipping 4.95 €, maybe a retired SKU)."""
    lines = [
        OrderLine("BOL-BLEU", "Bol bleu", bowls, eur(2490), eur(0), eur(2490 * bowls), Decimal(20)),
        OrderLine(
            "THE-SENCHA-50",
            "Sencha 50 g",
            tea,
            eur(950),
            eur(100),
            eur(950 * tea - 100),
            Decimal("5.5"),
        ),
    ]
    if extra:
        lines.append(OrderLine(extra, "Ancien vase", 1, eur(3333), eur(0), eur(3333), Decimal(20)))
    goods = sum(line.total.amount for line in lines)
    total = goods + 495
    at20 = total - lines[1].total.amount
    priced = PricedOrder(
        currency="EUR",
        lines=tuple(lines),
        subtotal=eur(sum(line.subtotal.amount for line in lines)),
        discounts=(),
        delivery=Delivery("colis", "Colis", eur(495), pickup=False),
        vat=(
            VatAmount(Decimal(20), eur(at20), eur(at20 // 6)),
            VatAmount(Decimal("5.5"), lines[1].total, eur(lines[1].total.amount * 55 // 1055)),
        ),
        total=eur(total),
        promo_code=None,
    )
    refunds = ()
    if refunded:
        refunds = (
            Refund(
                key=f"refund-{session_id}",
                amount=eur(refunded),
                lines=(LineQuantity("BOL-BLEU", 1),) if refunded == total else (),
                restock=False,
                cancel=False,
                state=RefundState.REFUNDED,
                requested_at=at,
                requested_by="merchant via CLI",
                settled_at=at,
                settled_by="stripe charge.refunded evt_x",
            ),
        )
    return Order(
        session_id=session_id,
        number=f"CT-{session_id}",
        status=status,
        created_at=at,
        email=email,
        customer_name=name,
        language="fr",
        priced=priced,
        shipping_address=Address(name, "3 rue des Tisserands", "", "69001", "Lyon", "FR"),
        marketing_consent=False,
        history=(OrderEvent(at, status, "stripe checkout.session.completed"),),
        refunds=refunds,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reports") / "shop"
    shutil.copytree(MINI, root)
    build(root)
    return root


@pytest.fixture
def shop(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COMPTOIR_STORE", str(tmp_path / "store.sqlite3"))
    return built


def history(now: dt.datetime) -> list[Order]:
    """Orders of every kind over three months, the last one refunded in part."""
    day = dt.timedelta(days=1)
    full = order("cs_refunded", now - 20 * day, email="zoe@example.fr", name="Zoé Roux")
    return [
        order("cs_jan", dt.datetime(2026, 1, 10, 9, tzinfo=dt.UTC), bowls=2),
        order("cs_feb_eve", NEW_YEAR_EVE_UTC, email="Lea@Example.fr", name="Léa Dupont"),
        order("cs_feb", dt.datetime(2026, 2, 14, 9, tzinfo=dt.UTC), extra="VASE-RETIRE"),
        order(
            "cs_partial",
            dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
            email="lea@example.fr",
            name="Léa Dupont",
            status=OrderStatus.PARTIALLY_REFUNDED,
            refunded=1234,
        ),
        dataclasses.replace(
            order(
                "cs_refunded",
                dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC),
                email="zoe@example.fr",
                name="Zoé Roux",
                status=OrderStatus.REFUNDED,
                refunded=full.total.amount,
            ),
        ),
        order("cs_pending", dt.datetime(2026, 3, 6, 9, tzinfo=dt.UTC), status=OrderStatus.PENDING),
        order("cs_failed", dt.datetime(2026, 3, 7, 9, tzinfo=dt.UTC), status=OrderStatus.FAILED),
    ]


NOW = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path, shop: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "store.sqlite3") as opened:
        opened.sync_stock({"BOL-BLEU": 10, "THE-SENCHA-50": 4, "TASSE": 0})
        opened.reserve("sold", {"THE-SENCHA-50": 4}, NOW + dt.timedelta(hours=1), NOW)
        opened.commit_reservation("sold", NOW)
        for made in history(NOW):
            assert opened.create_order(made)
        returned = ReturnRequest(
            rid="CT-cs_feb-W",
            session_id="cs_feb",
            order_number="CT-cs_feb",
            source=ReturnSource.WITHDRAWAL,
            status=ReturnStatus.REQUESTED,
            created_at=NOW,
            lines=(ReturnLine("BOL-BLEU", "Bol bleu", 1),),
            delivered_on=dt.date(2026, 2, 17),
            request_deadline=dt.date(2026, 3, 3),
            history=(ReturnEvent(NOW, ReturnStatus.REQUESTED, "withdrawal"),),
        )
        assert opened.create_return(returned)
        yield opened


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_figures_equal_the_orders_to_the_cent(
    shop: Path, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "report", "--json", "--shop", str(shop))
    assert (code, err) == (0, "")
    report = json.loads(out)
    paid = [o for o in history(NOW) if was_paid(o)]
    assert len(paid) == 5  # pending and failed are no sales
    charged = sum(o.total.amount for o in paid)
    refunded = sum(o.refunded().amount for o in paid)
    assert report["orders"] == 5
    assert report["charged"]["amount"] == charged
    assert report["refunded"]["amount"] == refunded
    assert report["revenue"]["amount"] == charged - refunded
    vat = sum(v.vat.amount for o in paid for v in o.priced.vat)
    assert report["revenue_ht"]["amount"] < charged - vat  # refunds take their HT share
    # Months in Paris: the order of 31 January 23:30 UTC is February's.
    months = {m["month"]: m for m in report["months"]}
    assert list(months) == ["2026-01", "2026-02", "2026-03"]
    assert [m["orders"] for m in report["months"]] == [1, 2, 2]
    assert sum(m["revenue"]["amount"] for m in report["months"]) == charged - refunded
    assert (
        sum(m["revenue_ht"]["amount"] for m in report["months"]) == report["revenue_ht"]["amount"]
    )
    # Goods by SKU and category, plus shipping, are what was charged.
    goods = sum(line.total.amount for o in paid for line in o.priced.lines)
    assert sum(p["revenue"]["amount"] for p in report["products"]) == goods
    assert sum(c["revenue"]["amount"] for c in report["categories"]) == goods
    assert goods + report["shipping"]["amount"] == charged
    categories = {c["category"]: c["revenue"]["amount"] for c in report["categories"]}
    assert categories["(retiré)"] == 3333  # VASE-RETIRE is in no published product
    assert categories["Céramiques"] == 2490 * 6
    assert report["average_basket"]["amount"] == round(Decimal(charged) / 5)
    # Customers: one per address, whatever its case; spend net of refunds.
    customers = {c["email"]: c for c in report["customers"]}
    assert set(customers) == {"camille@example.fr", "lea@example.fr", "zoe@example.fr"}
    assert customers["lea@example.fr"]["orders"] == 2
    assert sum(c["revenue"]["amount"] for c in report["customers"]) == charged - refunded
    assert customers["zoe@example.fr"]["revenue"]["amount"] == 0
    assert report["best_by_quantity"][0]["sku"] == "BOL-BLEU"
    assert (report["refunded_orders"], report["returned_orders"]) == (2, 1)
    assert report["return_rate"] == "20.0"
    assert report["refund_rate"] == str(
        (Decimal(refunded) * 100 / charged).quantize(Decimal("0.1"))
    )
    stock = {s["sku"]: s for s in report["stock"]}
    assert report["stock_outs"] == ["TASSE", "THE-SENCHA-50"]
    # Sencha: 5 sold in the period, nothing left: all sold through.
    assert (stock["THE-SENCHA-50"]["sold"], stock["THE-SENCHA-50"]["sell_through"]) == (5, "100.0")
    # Bowls: 6 ordered, 1 refunded: 5 sold, 10 available.
    assert (stock["BOL-BLEU"]["sold"], stock["BOL-BLEU"]["sell_through"]) == (5, "33.3")


def test_report_period_is_in_days_of_the_shop_and_mistakes_are_one_line(
    shop: Path, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "report",
        "--from",
        "2026-02-01",
        "--to",
        "2026-02-28",
        "--json",
        "--shop",
        str(shop),
    )
    assert code == 0
    report = json.loads(out)
    assert [m["month"] for m in report["months"]] == ["2026-02"]
    assert report["orders"] == 2  # the one of 31 January 23:30 UTC included
    code, out, _ = run(capsys, "report", "--shop", str(shop))
    assert code == 0
    for heading in (
        "Revenue and orders by month",
        "Best sellers by quantity",
        "Best sellers by revenue",
        "Best customers",
        "Revenue by category",
        "Sell-through",
        "Stock-outs: TASSE, THE-SENCHA-50.",
        "average basket",
    ):
        assert heading in out
    code, out, err = run(capsys, "report", "--from", "2026-13-01", "--shop", str(shop))
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "YYYY-MM-DD" in err
    code, _, err = run(
        capsys, "report", "--from", "2026-03-01", "--to", "2026-02-01", "--shop", str(shop)
    )
    assert code == 1 and "swap them" in err


def test_segments_and_lists_follow_the_documented_rules(
    shop: Path,
    store: SQLiteStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As of 2026-09-10: Camille's last order (14 Feb) is 208 days old: at risk; Léa's
    # (2 March), 192 days: at risk too; Zoé's all refunded (5 March): at risk.
    code, out, _ = run(capsys, "customers", "segments", "--json", "--shop", str(shop))
    assert code == 0
    counts = {s["segment"]: s["buyers"] for s in json.loads(out)["segments"]}
    assert sum(counts.values()) == 3
    code, out, _ = run(capsys, "customers", "list", "--json", "--shop", str(shop))
    listed = {row["email"]: row for row in json.loads(out)}
    assert listed["lea@example.fr"]["orders"] == 2
    code, out, _ = run(
        capsys, "customers", "list", "--segment", "loyal", "--json", "--shop", str(shop)
    )
    assert code == 0
    assert all(row["segment"] == "loyal" for row in json.loads(out))
    code, _, err = run(capsys, "customers", "list", "--segment", "vip", "--shop", str(shop))
    assert code == 1 and "new, loyal, big_spender, at_risk, lost" in err


def test_the_mailing_list_holds_only_consenting_customers(
    shop: Path, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    store.record_customer("lea@example.fr", "Léa Dupont", True, at)
    store.record_customer("camille@example.fr", "Camille Martin", False, at)
    store.record_customer("zoe@example.fr", "Zoé Roux", True, at)
    # A shopper who said yes at checkout but was forgotten since: their order may remain
    # (anonymised or not), their customer record does not.
    gone = dataclasses.replace(
        order("cs_gone", at, email="gone@example.fr", name="Gone Away"), marketing_consent=True
    )
    assert store.create_order(gone)
    code, out, _ = run(capsys, "customers", "unsubscribe", "ZOE@example.fr", "--shop", str(shop))
    assert code == 0 and "withdrawn" in out
    code, out, _ = run(capsys, "customers", "unsubscribe", "zoe@example.fr", "--shop", str(shop))
    assert code == 0 and "was not subscribed" in out
    code, out, _ = run(capsys, "customers", "export-marketing", "--shop", str(shop))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["EMAIL"] for r in rows] == ["lea@example.fr"]
    assert (rows[0]["FIRSTNAME"], rows[0]["LASTNAME"]) == ("Léa", "Dupont")
    assert (rows[0]["OPT_IN_DATE"], rows[0]["OPT_IN_SOURCE"]) == (at.isoformat(), "checkout")
    assert "zoe" not in out and "camille" not in out and "gone" not in out
    code, out, _ = run(
        capsys, "customers", "export-marketing", "--format", "mailchimp", "--shop", str(shop)
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["Email Address"], r["First Name"], r["Opt-in Time"]) for r in rows] == [
        ("lea@example.fr", "Léa", "2026-03-02 09:00:00")
    ]
    code, out, _ = run(
        capsys, "customers", "export-marketing", "--segment", "new", "--shop", str(shop)
    )
    assert code == 0 and out.splitlines()[1:] == []  # Léa is no new buyer


def test_the_html_report_reads_on_a_phone_and_a_desktop_offline(
    shop: Path, store: SQLiteStore, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    from tests.webtools import launch_browser, run_axe

    hostile = order("cs_hostile", dt.datetime(2026, 3, 8, 9, tzinfo=dt.UTC), name="<b>x</b>")
    assert store.create_order(hostile)
    page_file = tmp_path / "report.html"
    code, out, _ = run(capsys, "report", "--html", str(page_file), "--shop", str(shop))
    assert code == 0 and str(page_file) in out
    html = page_file.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html  # autoescaped
    assert "Chiffre d'affaires" in html or "Chiffre d&#39;affaires" in html  # the shop's French
    shots = Path(__file__).parent.parent / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            for width, height in ((390, 844), (1280, 900)):
                # Axe is injected as a script, which the page's own CSP forbids.
                context = browser.new_context(
                    viewport={"width": width, "height": height}, bypass_csp=True
                )
                page = context.new_page()
                requests: list[str] = []
                page.on("request", lambda request, seen=requests: seen.append(request.url))
                page.goto(page_file.as_uri())
                assert requests == [page_file.as_uri()]  # nothing fetched: works offline
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{overflow}px of horizontal overflow at {width}px"
                assert page.locator("svg[role=img]").count() == 1
                assert page.locator("ol.bars svg").count() >= 5
                page.screenshot(path=str(shots / f"report-{width}.png"), full_page=True)
                assert run_axe(page) == []
                context.close()
        finally:
            browser.close()
