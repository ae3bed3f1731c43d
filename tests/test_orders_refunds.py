"""Refunds and cancellations end to end: the local stack, the Stripe emulator, its signed
``charge.refunded`` webhook, the store and the .eml outbox, nothing mocked.

The operation is asked (through the back room, or the `comptoir orders` command as a
merchant types it); the order, the stock and the shopper's e-mail then follow from
Stripe's event, once, however often the same refund is asked.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from comptoir.backroom import EMULATOR_FILE, announce_emulator
from comptoir.cli import main
from functions.backroom import BackRoom
from functions.backroom import orders as operations
from functions.payments import StripePayments
from generator.build import build
from shop.orders import Order, OrderStatus, RefundState
from tests.apishop import MINI, running_stack
from tests.test_checkout_flow import Shop, order_status, pay, session_of, wait_for


@pytest.fixture(scope="module")
def shop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("refunds") / "shop"
    shutil.copytree(MINI, root)
    build(root)
    return root


@pytest.fixture
def shop(shop_root: Path, tmp_path: Path) -> Iterator[Shop]:
    with running_stack(shop_root, tmp_path) as (origin, stack):
        yield Shop(origin, stack, shop_root)


def backroom_of(shop: Shop) -> BackRoom:
    stack = shop.stack
    return BackRoom(stack.store, stack.shops, StripePayments(stack.settings))


def bought(shop: Shop, items: list[tuple[str, int]]) -> str:
    url = shop.checkout(items).json()["url"]
    session_id = session_of(url)
    assert pay(url).status_code == 303
    wait_for(lambda: order_status(shop, session_id) == "paid")
    wait_for(lambda: len(shop.mails()) >= 2)  # the confirmation and the merchant's notice
    return session_id


def order(shop: Shop, session_id: str) -> Order:
    found = shop.stack.store.get_order(session_id)
    assert found is not None
    return found


def refund_mails(shop: Shop) -> list[Any]:
    return [m for m in shop.mails() if "rembours" in str(m["Subject"]).lower()]


def text(mail: Any) -> str:
    return str(mail.get_body(preferencelist=("plain",)).get_content()).replace("\r\n", "\n")


def refunded_by_stripe(shop: Shop) -> list[int]:
    """What each charge.refunded event says was refunded in all, in order."""
    assert shop.stack.emulator is not None
    return [
        int(e["data"]["object"]["amount_refunded"])
        for e in shop.stack.emulator.events("charge.refunded")
    ]


def test_a_refund_of_units_asked_twice_refunds_once_restocks_and_mails_once(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    session_id = bought(shop, [("BOL-BLEU", 2), ("THE-SENCHA-50", 1)])
    assert shop.available("BOL-BLEU") == 1
    backroom = backroom_of(shop)
    first = operations.refund(backroom, session_id, lines="BOL-BLEU:1", restock=True, actor="test")
    assert (first.repeated, first.refund.amount.amount) == (False, 2490)
    settled = wait_for(
        lambda: (
            order(shop, session_id).refunds[0].state == RefundState.REFUNDED
            and order(shop, session_id)
        )
    )
    assert settled.status == OrderStatus.PARTIALLY_REFUNDED
    refund = settled.refunds[0]
    assert refund.refund_id.startswith("re_") and refund.settled_by.startswith(
        "stripe charge.refunded evt_"
    )
    assert wait_for(lambda: shop.available("BOL-BLEU") == 2)  # the unit is back on the shelf
    assert settled.history[-1].note.startswith("refunded 24.90 EUR (stripe charge.refunded evt_")
    assert settled.history[-1].note.endswith("; asked by test)")
    mail = wait_for(lambda: refund_mails(shop))[0]
    assert mail["To"].addresses[0].addr_spec == "camille@example.fr"
    assert mail["Subject"] == f"Remboursement de 24,90 € pour la commande {settled.number}"
    body = text(mail)
    assert "Nous vous avons remboursé 24,90\u00a0€ pour votre commande" in body
    assert "- 1 × " in body and "Remboursé au total : 24,90\u00a0€" in body

    again = operations.refund(backroom, session_id, lines="BOL-BLEU:1", restock=True, actor="test")
    assert again.repeated and again.refund.key == refund.key
    assert refunded_by_stripe(shop) == [2490]
    assert len(order(shop, session_id).refunds) == 1
    assert shop.available("BOL-BLEU") == 2

    # The rest, as a merchant types it, with the emulator that `comptoir serve` announces.
    settings = shop.stack.settings
    assert settings.stripe_api_base is not None
    announce_emulator(
        shop.root,
        settings.stripe_api_base,
        settings.stripe_key.reveal(),
        settings.webhook_secret.reveal(),
    )
    monkeypatch.setenv("COMPTOIR_STORE", str(settings.store))
    for name in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    try:
        number = settled.number
        for _ in range(2):
            code = main(["orders", "refund", number, "--shop", str(shop.root)])
            assert code == 0
        out = capsys.readouterr().out
        rest = settled.total.amount - 2490
        assert f"Order {number}: refund of " in out and "was asked before (" in out
        final = wait_for(
            lambda: (
                order(shop, session_id).status == OrderStatus.REFUNDED and order(shop, session_id)
            )
        )
        assert [r.amount.amount for r in final.refunds] == [2490, rest]
        assert refunded_by_stripe(shop)[-1] == settled.total.amount
        assert len(refunded_by_stripe(shop)) == 2
        mails = wait_for(lambda: len(refund_mails(shop)) == 2 and refund_mails(shop))
        assert "Remboursé au total : " in text(mails[-1])
        assert final.refunds[1].requested_by == "merchant via CLI"
        code = main(["orders", "refund", number, "--amount", "1", "--shop", str(shop.root)])
        assert code == 1
        assert "is refunded: it cannot be refunded" in capsys.readouterr().err
    finally:
        (shop.root / EMULATOR_FILE).unlink()


def test_cancel_refunds_in_full_puts_the_stock_back_and_mails_once(shop: Shop) -> None:
    session_id = bought(shop, [("BOL-BLEU", 2)])
    assert shop.available("BOL-BLEU") == 1
    backroom = backroom_of(shop)
    outcome = operations.cancel(backroom, session_id, actor="test")
    assert outcome.refund.cancel and outcome.refund.amount == outcome.order.total
    cancelled = wait_for(
        lambda: order(shop, session_id).status == OrderStatus.CANCELLED and order(shop, session_id)
    )
    assert wait_for(lambda: shop.available("BOL-BLEU") == 3)
    assert cancelled.refunded() == cancelled.total and cancelled.refundable().amount == 0
    mail = wait_for(lambda: refund_mails(shop))[0]
    assert mail["Subject"] == f"Commande {cancelled.number} annulée et remboursée"
    assert f"Votre commande {cancelled.number} a été annulée." in text(mail)

    again = operations.cancel(backroom, session_id, actor="test")
    assert again.repeated
    assert refunded_by_stripe(shop) == [cancelled.total.amount]
    assert shop.available("BOL-BLEU") == 3
    time_enough = dt.datetime.now(dt.UTC)
    assert len(refund_mails(shop)) == 1, time_enough


def test_a_refund_asked_again_after_stripe_forgot_its_key_refunds_once(shop: Shop) -> None:
    """Stripe keeps an idempotency key 24 hours: a refund whose first attempt went through
    unrecorded, asked again days later, must find that refund (by the key kept in its
    metadata), not make a second one."""
    session_id = bought(shop, [("BOL-BLEU", 1)])
    checkout = shop.stack.store.get_checkout(session_id)
    assert checkout is not None and checkout.payment_intent
    emulator = shop.stack.emulator
    assert emulator is not None
    payments = StripePayments(shop.stack.settings)
    first = payments.refund(checkout.payment_intent, 1000, "test:asked-again")
    emulator.clock.advance(25 * 3600)
    again = payments.refund(checkout.payment_intent, 1000, "test:asked-again")
    assert again == first
    assert wait_for(lambda: refunded_by_stripe(shop) == [1000])
    other = payments.refund(checkout.payment_intent, 500, "test:another")  # another key
    assert other.id != first.id
    assert wait_for(lambda: refunded_by_stripe(shop) == [1000, 1500])
