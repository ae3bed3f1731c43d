"""`comptoir orders list|show|ship|refund|cancel` through the command line, on SQLite:
exit codes, what is printed, and the store's state afterwards.

The orders are recorded in the store as the payment webhook records them; the refunds
that need Stripe run end to end in tests/test_orders_refunds.py.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from comptoir.cli import main
from functions.sqlite_store import SQLiteStore
from functions.store import Checkout
from functions.webhooks import order_number
from generator.build import build
from shop.money import Money
from shop.orders import (
    Address,
    Delivery,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PricedOrder,
    VatAmount,
)
from tests.apishop import MINI

# 2026-12-05 23:30 UTC is already 6 December in Paris, the shop's time zone.
LATE_EVENING = dt.datetime(2026, 12, 5, 23, 30, tzinfo=dt.UTC)


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def priced(bowls: int = 2, tea: int = 1) -> PricedOrder:
    lines = (
        OrderLine("BOL-BLEU", "Bol bleu", bowls, eur(2490), eur(0), eur(2490 * bowls), Decimal(20)),
        OrderLine(
            "THE-SENCHA-50", "Sencha 50 g", tea, eur(950), eur(0), eur(950 * tea), Decimal("5.5")
        ),
    )
    goods = 2490 * bowls + 950 * tea
    return PricedOrder(
        currency="EUR",
        lines=lines,
        subtotal=eur(goods),
        discounts=(),
        delivery=Delivery("colissimo", "Colissimo", eur(495), pickup=False),
        vat=(
            VatAmount(Decimal(20), eur(2490 * bowls + 495), eur((2490 * bowls + 495) // 6)),
            VatAmount(Decimal("5.5"), eur(950 * tea), eur(50 * tea)),
        ),
        total=eur(goods + 495),
        promo_code=None,
    )


def paid_order(
    store: SQLiteStore,
    session_id: str,
    *,
    at: dt.datetime = LATE_EVENING,
    email: str = "camille@example.fr",
    status: OrderStatus = OrderStatus.PAID,
    bowls: int = 2,
    bowl_lead_time: int | None = None,
) -> Order:
    """An order as the payment webhook leaves it: checkout, sale and order recorded."""
    hold = f"hold-{session_id}"
    content = priced(bowls)
    bowl, *others = content.lines
    bowl = dataclasses.replace(bowl, lead_time_days=bowl_lead_time)
    content = dataclasses.replace(content, lines=(bowl, *others))
    store.save_checkout(Checkout(session_id, hold, at, at + dt.timedelta(hours=1), content, "c0"))
    store.reserve(hold, {"BOL-BLEU": bowls, "THE-SENCHA-50": 1}, at + dt.timedelta(hours=1), at)
    store.commit_reservation(hold, at)
    order = Order(
        session_id=session_id,
        number=order_number(session_id, at),
        status=status,
        created_at=at,
        email=email,
        customer_name="Camille Martin",
        language="fr",
        priced=content,
        shipping_address=Address(
            "Camille Martin", "3 rue des Tisserands", "", "69001", "Lyon", "FR"
        ),
        marketing_consent=False,
        history=(OrderEvent(at, status, "stripe checkout.session.completed evt_1"),),
    )
    assert store.create_order(order)
    return order


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("orders") / "shop"
    shutil.copytree(MINI, root)
    config = root / "content" / "shop.yaml"
    carriers = '\ncarriers:\n  chronopost: "https://www.chronopost.fr/tracking?listeNumerosLT={tracking}"\n'
    config.write_text(config.read_text() + carriers)
    build(root)
    return root


@pytest.fixture
def shop(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COMPTOIR_STORE", str(tmp_path / "store.sqlite3"))
    return built


@pytest.fixture
def store(tmp_path: Path, shop: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "store.sqlite3") as opened:
        opened.sync_stock({"BOL-BLEU": 10, "THE-SENCHA-50": 10})
        yield opened


def run(shop: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["orders", *args, "--shop", str(shop)])
    out, err = capsys.readouterr()
    return code, out, err


def queued_mails(store: SQLiteStore) -> list[EmailMessage]:
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    taken = store.claim_due_mails(now, now + dt.timedelta(minutes=5), limit=100)
    return [message_from_bytes(m.message, policy=policy.default) for m in taken]


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


# -- list ---------------------------------------------------------------------------------


def test_list_filters_by_status_dates_email_and_sku(
    shop: Path, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    first = paid_order(store, "cs_test_a", at=LATE_EVENING)
    paid_order(store, "cs_test_b", at=LATE_EVENING - dt.timedelta(hours=1), email="max@ex.fr")
    paid_order(
        store, "cs_test_c", at=LATE_EVENING + dt.timedelta(days=2), status=OrderStatus.FULFILLED
    )

    def numbers(*args: str) -> list[str]:
        code, out, err = run(shop, capsys, "list", "--json", *args)
        assert (code, err) == (0, "")
        return [entry["session_id"] for entry in json.loads(out)]

    assert numbers() == ["cs_test_c", "cs_test_a", "cs_test_b"]
    assert numbers("--status", "paid") == ["cs_test_a", "cs_test_b"]
    assert numbers("--status", "fulfilled,refunded") == ["cs_test_c"]
    # Days are the shop's: 23:30 UTC on the 5th is the 6th in Paris, 22:30 UTC still the 5th.
    assert numbers("--from", "2026-12-06", "--to", "2026-12-06") == ["cs_test_a"]
    assert numbers("--to", "2026-12-05") == ["cs_test_b"]
    assert numbers("--email", "MAX@ex.fr") == ["cs_test_b"]
    assert numbers("--sku", "THE-SENCHA-50", "--limit", "1") == ["cs_test_c"]
    assert numbers("--sku", "VASE") == []

    code, out, _ = run(shop, capsys, "list")
    assert code == 0
    header, rule, *rows = out.splitlines()
    assert header.split() == [
        "number",
        "placed",
        "dispatch",
        "status",
        "customer",
        "email",
        "items",
        "shipped",
        "total",
    ]
    assert len(rows) == 3 and first.number in rows[1] and "2026-12-06 00:30" in rows[1]
    assert "64,25\u00a0€" in rows[1] and rule.startswith("─")

    code, out, _ = run(shop, capsys, "list", "--csv", "--status", "paid")
    table = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [row["number"] for row in table] == [
        first.number,
        order_number("cs_test_b", LATE_EVENING - dt.timedelta(hours=1)),
    ]
    assert table[0]["total_amount"] == "64.25" and table[0]["items"] == "3"

    code, out, _ = run(shop, capsys, "list", "--status", "cancelled")
    assert (code, out) == (0, "No order matches.\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "06/12/2026"], "error: --from '06/12/2026': write a day as YYYY-MM-DD"),
        (["--status", "shipped"], "error: unknown status 'shipped': use one of pending, paid"),
        (["--from", "2026-12-07", "--to", "2026-12-01"], "error: --to 2026-12-01 is before"),
        (["--limit", "0"], "error: --limit must be 1 or more"),
    ],
)
def test_list_refuses_bad_criteria_in_one_line(
    shop: Path,
    store: SQLiteStore,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code, out, err = run(shop, capsys, "list", *args)
    assert (code, out) == (1, "")
    assert err.startswith(message) and err.count("\n") == 1


# -- show ---------------------------------------------------------------------------------


def test_show_by_number_or_session_tells_everything(
    shop: Path, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    order = paid_order(store, "cs_test_show")
    code, out, err = run(shop, capsys, "show", order.number.lower())
    assert (code, err) == (0, "")
    assert out.startswith(f"Order {order.number}  (cs_test_show)\nStatus:    paid\n")
    for shown in (
        "Placed:    2026-12-06 00:30",
        "Camille Martin <camille@example.fr>",
        "Address:   Camille Martin, 3 rue des Tisserands, 69001 Lyon, FR",
        "Bol bleu",
        "Sencha 50 g",
        "Total",
        "64,25\u00a0€",
        "incl. VAT 20\u00a0% on 54,75\u00a0€",
        "incl. VAT 5,5\u00a0% on 9,50\u00a0€",
        "Shipments (still to ship: 2 × BOL-BLEU, 1 × THE-SENCHA-50)",
        "stripe checkout.session.completed evt_1",
    ):
        assert shown in out, shown
    code, out, _ = run(shop, capsys, "show", "cs_test_show", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["number"] == order.number
    assert shown["total"] == {"amount": 6425, "currency": "EUR", "display": "64,25\u00a0€"}
    assert [v["rate"] for v in shown["vat"]] == ["20", "5.5"]
    assert shown["to_ship"] == {"BOL-BLEU": 2, "THE-SENCHA-50": 1}
    assert shown["history"][0]["note"] == "stripe checkout.session.completed evt_1"


def test_show_and_list_state_the_dispatch_date_promised(
    shop: Path, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    # Placed at 00:30 on Sunday 6 December 2026 in Paris: counted from Monday the 7th.
    order = paid_order(store, "cs_test_made", bowl_lead_time=10)
    code, out, _ = run(shop, capsys, "show", order.number)
    assert code == 0
    assert "Dispatch:  by 2026-12-21 (promised: 10 shop days of lead time)" in out
    code, out, _ = run(shop, capsys, "show", order.number, "--json")
    shown = json.loads(out)
    assert shown["expected_dispatch"] == "2026-12-21"
    assert [line["lead_time_days"] for line in shown["lines"]] == [10, None]
    code, out, _ = run(shop, capsys, "list", "--json")
    assert [o["expected_dispatch"] for o in json.loads(out)] == ["2026-12-21"]
    code, out, _ = run(shop, capsys, "list")
    assert "2026-12-21" in out.splitlines()[2]

    plain = paid_order(store, "cs_test_plain", at=LATE_EVENING - dt.timedelta(days=1))
    code, out, _ = run(shop, capsys, "show", plain.number)
    assert code == 0 and "Dispatch:" not in out
    code, out, _ = run(shop, capsys, "show", plain.number, "--json")
    assert json.loads(out)["expected_dispatch"] is None


def test_an_unknown_order_is_one_line_and_exit_1(
    shop: Path, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    for action in (["show"], ["ship", "--carrier", "colissimo", "--tracking", "X1"], ["cancel"]):
        code, out, err = run(shop, capsys, *action[:1], "CT-20260101-FFFFFF", *action[1:])
        assert (code, out) == (1, "")
        assert err.startswith("error: no order 'CT-20260101-FFFFFF'") and err.count("\n") == 1


# -- ship ---------------------------------------------------------------------------------


def test_partial_then_complete_shipment_with_mails(
    shop: Path, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    order = paid_order(store, "cs_test_ship")
    code, out, err = run(
        shop,
        capsys,
        "ship",
        order.number,
        "--carrier",
        "Mondial-Relay",
        "--tracking",
        "MR 42/7",
        "--lines",
        "BOL-BLEU:1",
    )
    assert (code, err) == (0, "")
    assert f"Order {order.number}: shipped 1 × BOL-BLEU by mondial-relay MR 42/7." in out
    assert "Status: paid; still to ship: 1 × BOL-BLEU, 1 × THE-SENCHA-50" in out
    url = "https://www.mondialrelay.fr/suivi-de-colis/?numeroExpedition=MR%2042%2F7"
    assert f"Tracking: {url}" in out
    stored = store.get_order("cs_test_ship")
    assert stored is not None and stored.status == OrderStatus.PAID
    assert stored.shipped_quantities() == {"BOL-BLEU": 1}
    assert (
        stored.history[-1].note
        == "shipped 1 × BOL-BLEU by mondial-relay MR 42/7 (merchant via CLI)"
    )
    # The same parcel again is the same parcel.
    code, out, _ = run(
        shop,
        capsys,
        "ship",
        order.number,
        "--carrier",
        "mondial-relay",
        "--tracking",
        "MR 42/7",
        "--lines",
        "BOL-BLEU:1",
    )
    assert code == 0 and "was recorded before" in out
    assert len(store.get_order("cs_test_ship").shipments) == 1

    code, out, _ = run(
        shop, capsys, "ship", "cs_test_ship", "--carrier", "chronopost", "--tracking", "XY123"
    )
    assert code == 0 and "Status: fulfilled" in out
    final = store.get_order("cs_test_ship")
    assert final is not None and final.status == OrderStatus.FULFILLED
    assert final.to_ship() == {} and [s.carrier for s in final.shipments] == [
        "mondial-relay",
        "chronopost",
    ]
    assert (
        final.shipments[1].tracking_url == "https://www.chronopost.fr/tracking?listeNumerosLT=XY123"
    )
    assert [e.status for e in final.history][-2:] == [OrderStatus.PAID, OrderStatus.FULFILLED]

    mails = queued_mails(store)
    assert [m["Subject"] for m in mails] == [
        f"Une partie de votre commande {order.number} a été expédiée",
        f"Votre commande {order.number} a été expédiée",
    ]
    first = text_of(mails[0])
    assert url in first and "Transporteur : Mondial Relay" in first
    assert "DANS CE COLIS\n\n- 1 × Bol bleu" in first
    assert "À VENIR\n\n- 1 × Bol bleu\n- 1 × Sencha 50 g" in first
    assert "À VENIR" not in text_of(mails[1]) and "- 1 × Sencha 50 g" in text_of(mails[1])

    code, out, err = run(
        shop, capsys, "ship", "cs_test_ship", "--carrier", "colissimo", "--tracking", "6A0"
    )
    assert (code, out) == (1, "")
    assert err == (
        f"error: order {order.number} is fulfilled: it cannot be shipped "
        "(fulfilled -> fulfilled is not allowed)\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--carrier", "dhl", "--tracking", "1"],
            "error: unknown carrier 'dhl': use one of chronopost, colissimo, mondial-relay",
        ),
        (["--carrier", "colissimo", "--tracking", "<x>"], "error: tracking code '<x>'"),
        (["--carrier", "colissimo", "--tracking", "1", "--lines", "VASE:1"], "has no line VASE"),
        (
            ["--carrier", "colissimo", "--tracking", "1", "--lines", "BOL-BLEU:3"],
            "2 × BOL-BLEU ordered",
        ),
        (
            ["--carrier", "colissimo", "--tracking", "1", "--lines", "BOL-BLEU=1"],
            "write SKU:QTY pairs",
        ),
    ],
)
def test_ship_refuses_mistakes_and_changes_nothing(
    shop: Path,
    store: SQLiteStore,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    order = paid_order(store, "cs_test_bad")
    code, out, err = run(shop, capsys, "ship", "cs_test_bad", *args)
    assert (code, out) == (1, "") and message in err and err.count("\n") == 1
    assert store.get_order("cs_test_bad") == order
    assert queued_mails(store) == []


def test_a_cancelled_order_cannot_be_shipped_nor_a_shipped_one_cancelled(
    shop: Path, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    cancelled = paid_order(store, "cs_test_x", status=OrderStatus.CANCELLED)
    code, _, err = run(
        shop, capsys, "ship", "cs_test_x", "--carrier", "colissimo", "--tracking", "1"
    )
    assert code == 1 and err == (
        f"error: order {cancelled.number} is cancelled: it cannot be shipped "
        "(cancelled -> fulfilled is not allowed)\n"
    )
    shipped = paid_order(store, "cs_test_y")
    assert (
        run(shop, capsys, "ship", "cs_test_y", "--carrier", "colissimo", "--tracking", "1")[0] == 0
    )
    code, _, err = run(shop, capsys, "cancel", "cs_test_y")
    assert code == 1 and err.startswith(f"error: order {shipped.number} was shipped (1 parcel(s))")
    pending = paid_order(store, "cs_test_z", status=OrderStatus.PENDING)
    code, _, err = run(shop, capsys, "cancel", "cs_test_z")
    assert code == 1 and "its payment has not cleared yet" in err
    code, _, err = run(shop, capsys, "refund", "cs_test_z")
    assert code == 1 and err == (
        f"error: order {pending.number} is pending: it cannot be refunded "
        "(pending -> refunded is not allowed)\n"
    )


# -- refund: what is refused before Stripe is asked ----------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--amount", "70"], "70.00 EUR asked, 64.25 left to refund"),
        (["--amount", "12,50"], "--amount: the price 12,50 uses a comma"),
        (["--amount", "5", "--restock"], "--restock needs --lines SKU:QTY"),
        ([], "No payment provider to talk to"),
    ],
)
def test_refund_refuses_what_cannot_be_done_and_records_nothing(
    shop: Path,
    store: SQLiteStore,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    order = paid_order(store, "cs_test_r")
    code, out, err = run(shop, capsys, "refund", order.number, *args)
    assert (code, out) == (1, "") and message in err and err.count("\n") == 1
    assert store.get_order("cs_test_r") == order


# -- carriers in shop.yaml -------------------------------------------------------------------


def test_carriers_in_shop_yaml_are_checked_with_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "shop"
    shutil.copytree(MINI, root)
    config = root / "content" / "shop.yaml"
    lines = config.read_text().count("\n")
    config.write_text(
        config.read_text()
        + 'carriers:\n  DHL: "https://dhl.example/{tracking}"\n  gls: "https://gls.example/"\n'
    )
    assert main(["check", "--shop", str(root)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == [
        f"content/shop.yaml:{lines + 2}: carrier 'DHL' must be lower-case letters, digits, "
        "'-' or '_' (e.g. mondial-relay)",
        f"content/shop.yaml:{lines + 3}: carrier 'gls' needs its tracking page's address with "
        '{tracking} where the parcel\'s code goes, e.g. "https://suivi.example/?code={tracking}"',
    ]


# -- the e-mails, in both languages -----------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "en"])
def test_shipping_and_refund_emails_are_whole_and_self_contained(language: str) -> None:
    from functions.emails import refund_email, shipping_email
    from shop.orders import LineQuantity, Refund, RefundState, Shipment
    from tests.test_emails import _Balance, english_order, example_shop, french_order

    published = example_shop()
    order = french_order() if language == "fr" else english_order()
    first = order.priced.lines[0]
    parcel = Shipment(
        1,
        LATE_EVENING,
        "colissimo",
        "6A123",
        "https://t.example/6A123",
        (LineQuantity(first.sku, 1),),
        "test",
    )
    refund = Refund(
        "k",
        first.unit_price,
        (LineQuantity(first.sku, 1),),
        True,
        False,
        RefundState.REFUNDED,
        LATE_EVENING,
        "test",
        settled_at=LATE_EVENING,
    )
    shipped = dataclasses.replace(order, shipments=(parcel,))
    refunded = dataclasses.replace(order, refunds=(refund,))
    for mail in (
        shipping_email(shipped, parcel, published),
        refund_email(refunded, refund, published),
    ):
        message = message_from_bytes(mail.message, policy=policy.default)
        assert message["Content-Language"] == language
        html = message.get_body(preferencelist=("html",)).get_content()
        checker = _Balance()
        checker.feed(html)
        assert (checker.errors, checker.stack, checker.remote) == ([], [], [])
        assert f'<html lang="{language}">' in html and order.number in html
    assert 'href="https://t.example/6A123"' in html_of(
        shipping_email(shipped, parcel, published).message
    )
    assert shipping_email(shipped, parcel, published) == shipping_email(shipped, parcel, published)


def html_of(raw: bytes) -> str:
    part = message_from_bytes(raw, policy=policy.default).get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())
