"""What each payment outcome sends, to whom, once: pending, cleared, failed, oversold."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.emails import merchant_outcome, oversold_email, payment_failed_email
from functions.outbox import queue_apology, queue_order_emails
from functions.sqlite_store import SQLiteStore
from functions.store import Checkout
from shop.orders import Order, OrderEvent, OrderStatus
from shop.published import PublishedShop
from tests.mailer_contract import body, parse
from tests.test_emails import _Balance, english_order, example_shop, order, parts

SESSION = "cs_test_a1B2c3"
LATER = dt.datetime(2026, 9, 17, 7, 0, tzinfo=dt.UTC)  # 9:00 in Paris


@pytest.fixture(scope="module")
def shop() -> PublishedShop:
    return example_shop()


@pytest.fixture(scope="module")
def refund_shop(shop: PublishedShop) -> PublishedShop:
    return dataclasses.replace(shop, config=dataclasses.replace(shop.config, oversold="refund"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "store.sqlite3") as opened:
        yield opened


def moved(status: OrderStatus, *earlier: OrderStatus) -> Order:
    """The French order, now in ``status`` (since LATER), after ``earlier`` statuses."""
    history = tuple(OrderEvent(LATER, s, "test") for s in (*earlier, status))
    return order(status=status, history=history)


def balanced(html: str) -> None:
    checker = _Balance()
    checker.feed(html)
    assert (checker.errors, checker.stack, checker.remote) == ([], [], [])


# -- the shopper's notice of a failed payment ---------------------------------------------


def test_a_failed_payment_tells_the_shopper_and_links_their_cart_back(
    shop: PublishedShop,
) -> None:
    mail = payment_failed_email(order(status=OrderStatus.FAILED), shop)
    message, text, html = parts(mail.message)
    assert (mail.key, mail.to) == (f"failed:{SESSION}", "marie.dupont@example.org")
    assert message["Subject"] == "Le paiement de la commande CT-2026-000123 a échoué"
    assert message["Reply-To"] == "Thé & Terre <bonjour@the-et-terre.example>"
    link = "https://the-et-terre.example/cart/?sku=SENCHA-100&quantity=2&sku=KYUSU-BRUN&quantity=1"
    for shown in (text, html):
        for item in (
            "Votre banque a refusé le prélèvement SEPA de la commande CT-2026-000123",
            "vous n'avez pas été débité",
            "Sencha bio du Japon (100 g)",
            "75,36 €",
        ):
            assert item in shown, item
    assert link in text
    source = body(message, "html")
    assert f'href="{link.replace("&", "&amp;")}"' in source and "Payer à nouveau" in source
    balanced(source)
    english = parse(payment_failed_email(english_order(status=OrderStatus.FAILED), shop).message)
    assert english["Subject"] == "Payment for order CT-2026-000123 failed"
    assert "follow this link to pay again" in body(english, "plain")


def test_an_outcome_is_dated_when_the_order_took_its_status(shop: PublishedShop) -> None:
    failed = moved(OrderStatus.FAILED, OrderStatus.PENDING)
    message = parse(payment_failed_email(failed, shop).message)
    assert message["Date"] == "Thu, 17 Sep 2026 09:00:00 +0200"
    assert payment_failed_email(failed, shop) == payment_failed_email(failed, shop)


# -- the merchant's notices -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "subject", "says"),
    [
        (
            "cleared",
            "Paiement reçu pour la commande CT-2026-000123",
            "Le prélèvement SEPA est encaissé : vous pouvez préparer la commande.",
        ),
        (
            "failed",
            "Échec du paiement de la commande CT-2026-000123 : ne pas expédier",
            "Le prélèvement SEPA a échoué : n'expédiez pas cette commande.",
        ),
        (
            "oversold",
            "Survente : la commande CT-2026-000123 attend votre décision",
            "Sencha bio du Japon (100 g) : 1 de plus que le stock",
        ),
    ],
)
def test_the_merchant_hears_of_every_outcome(
    shop: PublishedShop, outcome: str, subject: str, says: str
) -> None:
    mail = merchant_outcome(order(), shop, outcome, {"SENCHA-100": 1})
    message, text, html = parts(mail.message)
    assert (mail.key, mail.to) == (f"merchant-{outcome}:{SESSION}", shop.config.email.orders_to)
    assert message["Subject"] == subject
    assert message["Reply-To"] == "Marie Dupont <marie.dupont@example.org>"
    assert message["Content-Language"] == "fr"
    for shown in (text, html):
        assert says in shown and "Client : Marie Dupont" in shown and "75,36 €" in shown
    balanced(body(message, "html"))


def test_the_oversold_alert_says_what_the_policy_does(
    shop: PublishedShop, refund_shop: PublishedShop
) -> None:
    _, held, _ = parts(merchant_outcome(order(), shop, "oversold", {"KYUSU-BRUN": 1}).message)
    assert "(oversold: hold), la commande attend votre décision" in held
    assert "comptoir orders accept CT-2026-000123" in held
    assert "comptoir orders cancel CT-2026-000123" in held
    message, refunded, html = parts(
        merchant_outcome(order(), refund_shop, "oversold", {"KYUSU-BRUN": 1}).message
    )
    assert message["Subject"] == "Survente : commande CT-2026-000123 remboursée automatiquement"
    for shown in (refunded, html):
        assert "Théière kyusu en grès : 1 de plus que le stock" in shown
        assert "le client est remboursé intégralement (75,36 €)" in shown
        assert "orders list" not in shown


# -- the shopper's notice of an oversold order ---------------------------------------------


def test_the_oversold_shopper_gets_an_apology_and_the_refund_or_word_that_it_is_checked(
    shop: PublishedShop,
) -> None:
    refunded = oversold_email(order(status=OrderStatus.OVERSOLD), shop, refunded=True)
    message, text, html = parts(refunded.message)
    assert refunded.key == f"oversold:{SESSION}"
    assert message["Subject"] == "Commande CT-2026-000123 remboursée : toutes nos excuses"
    for shown in (text, html):
        assert "nous vous avons remboursé intégralement : 75,36 €" in shown
        assert "sous 5 à 10 jours" in shown
    balanced(body(message, "html"))
    held = oversold_email(english_order(status=OrderStatus.OVERSOLD), shop, refunded=False)
    message, text, html = parts(held.message)
    assert message["Subject"] == "Order CT-2026-000123: payment received, checking stock"
    for shown in (text, html):
        assert "either your order ships, or we refund you in full" in shown
        assert "refunded you" not in shown


# -- what the outbox queues, per status, once ------------------------------------------------


def test_each_status_queues_its_mails_once(store: SQLiteStore, shop: PublishedShop) -> None:
    now = LATER
    pending = order(status=OrderStatus.PENDING)
    assert queue_order_emails(store, pending, shop, now) == [
        f"pending:{SESSION}",
        f"merchant:{SESSION}",
    ]
    cleared = moved(OrderStatus.PAID, OrderStatus.PENDING)
    assert queue_order_emails(store, cleared, shop, now) == [
        f"confirmation:{SESSION}",
        f"merchant-cleared:{SESSION}",
    ]
    assert queue_order_emails(store, cleared, shop, now) == []
    card = order(session_id="cs_test_card", status=OrderStatus.PAID)  # paid at once: no "cleared"
    assert queue_order_emails(store, card, shop, now) == [
        "confirmation:cs_test_card",
        "merchant:cs_test_card",
    ]
    failed = order(session_id="cs_test_failed", status=OrderStatus.FAILED, email="not an address")
    assert queue_order_emails(store, failed, shop, now) == ["merchant-failed:cs_test_failed"]


def test_an_oversold_order_alerts_the_merchant_and_tells_the_shopper_per_policy(
    store: SQLiteStore, shop: PublishedShop, refund_shop: PublishedShop
) -> None:
    store.sync_stock({"KYUSU-BRUN": 1})
    for key, session in (("late", "cs_test_late"), ("other", "cs_test_other")):
        at = LATER if key == "other" else LATER - dt.timedelta(hours=1)
        store.reserve(key, {"KYUSU-BRUN": 1}, at + dt.timedelta(minutes=36), at)
        store.save_checkout(Checkout(session, key, at, at, order().priced, "hash"))
    store.commit_reservation("other", LATER)
    store.commit_reservation("late", LATER + dt.timedelta(seconds=1))
    late = order(session_id="cs_test_late", status=OrderStatus.OVERSOLD)
    assert queue_order_emails(store, late, shop, LATER) == [
        "oversold:cs_test_late",
        "merchant-oversold:cs_test_late",
    ]
    alert = next(m for m in store.claim_due_mails(LATER, LATER, 10) if m.key.startswith("merch"))
    assert "Théière kyusu en grès : 1 de plus que le stock" in parts(alert.message)[1]
    # Refunding such orders: the alert at once, the apology only once the refund is asked.
    other = order(session_id="cs_test_other", status=OrderStatus.OVERSOLD)
    assert queue_order_emails(store, other, refund_shop, LATER) == [
        "merchant-oversold:cs_test_other"
    ]
    assert queue_apology(store, other, refund_shop, LATER)
    assert not queue_apology(store, other, refund_shop, LATER)
