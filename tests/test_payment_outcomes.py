"""Every payment outcome reaches the people concerned, through the running stack.

The functions under uvicorn, the offline Stripe emulator's payment page and its signed
webhooks, the SQLite store and the .eml outbox, as in test_checkout_flow. The
functions' clock is the one thing a test moves: it lets a stock hold lapse while a
payment's webhook is held back, as after an outage that Stripe's retries outlast.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest
from playwright.sync_api import Browser

from comptoir.local import LocalStack
from generator.build import build
from shop.orders import OrderStatus
from tests.apishop import MINI, running_stack
from tests.test_checkout_flow import Shop, order_status, pay, session_of, wait_for

HOLD_LAPSED = dt.timedelta(minutes=40)  # a 30-minute session, its slack and margin: past them


class MovableClock:
    """The functions' time: now, plus however far a test moved it."""

    def __init__(self) -> None:
        self.ahead = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.ahead


@dataclass
class Outcomes(Shop):
    clock: MovableClock

    def available(self, sku: str) -> int | None:
        return self.stack.store.available([sku], self.clock())[sku]

    def mail(self, subject_start: str) -> EmailMessage:
        """The one delivered mail whose subject starts so (waits for its delivery)."""

        def found() -> list[EmailMessage]:
            return [m for m in self.messages() if subject(m).startswith(subject_start)]

        mails = wait_for(found)
        assert len(mails) == 1, [str(m["Subject"]) for m in mails]
        return mails[0]

    def messages(self) -> list[EmailMessage]:
        if not self.outbox.exists():
            return []
        return [
            cast(EmailMessage, message_from_bytes(p.read_bytes(), policy=policy.default))
            for p in sorted(self.outbox.glob("*.eml"))
        ]

    def subjects(self) -> list[str]:
        return sorted(subject(m) for m in self.messages())


def subject(message: EmailMessage) -> str:
    """The subject as read: a long one is folded, and Python's folding doubles a space."""
    return " ".join(str(message["Subject"]).split())


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    text = cast(str, part.get_content())  # type: ignore[attr-defined]
    return text.replace("\xa0", " ").replace("\u202f", " ")  # babel's spaces in amounts


def built(root: Path, oversold: str) -> Path:
    shutil.copytree(MINI, root)
    config = root / "content" / "shop.yaml"
    config.write_text(config.read_text() + f"oversold: {oversold}\n")
    vase = root / "content" / "products" / "vase.md"
    vase.write_text(vase.read_text().replace("price: 40\n", "price: 40\nstock: 1\n"))
    build(root)
    return root


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The mini shop built with each ``oversold`` policy, its one vase tracked."""
    folder = tmp_path_factory.mktemp("outcomes")
    return {name: built(folder / name, name) for name in ("hold", "refund")}


@pytest.fixture(params=["hold", "refund"])
def shop(
    request: pytest.FixtureRequest, roots: dict[str, Path], tmp_path: Path
) -> Iterator[Outcomes]:
    clock = MovableClock()
    with running_stack(roots[request.param], tmp_path, clock=clock) as (origin, stack):
        yield Outcomes(origin, stack, roots[request.param], clock)


@pytest.fixture
def sepa_shop(roots: dict[str, Path], tmp_path: Path) -> Iterator[Outcomes]:
    with running_stack(roots["hold"], tmp_path) as (origin, stack):
        yield Outcomes(origin, stack, roots["hold"], MovableClock())


def completed_event(stack: LocalStack, session_id: str) -> dict[str, Any]:
    assert stack.emulator is not None
    return next(
        e
        for e in stack.emulator.events("checkout.session.completed")
        if e["data"]["object"]["id"] == session_id
    )


# -- the late payment --------------------------------------------------------------------


def test_a_late_payment_for_a_unit_sold_meanwhile_is_oversold_and_never_silent(
    shop: Outcomes,
) -> None:
    emulator = shop.stack.emulator
    assert emulator is not None
    policy_name = shop.stack.shops.current().config.oversold
    # The first shopper pays, but Stripe cannot reach the shop (its webhook is held).
    late = shop.checkout([("VASE", 1)]).json()["url"]
    emulator.webhooks.hold()
    pay(late)
    # The hold lapses; a second shopper takes the last vase and pays.
    shop.clock.ahead = HOLD_LAPSED
    assert shop.available("VASE") == 1
    response = shop.checkout([("VASE", 1)])
    assert response.status_code == 201, response.text
    first = response.json()["url"]
    pay(first)
    # The shop comes back: the second payment lands first, then Stripe's retry of the first.
    emulator.webhooks.release(
        [
            completed_event(shop.stack, session_of(first))["id"],
            completed_event(shop.stack, session_of(late))["id"],
        ]
    )
    late_id, first_id = session_of(late), session_of(first)
    assert wait_for(lambda: order_status(shop, first_id) == "paid")
    final = "refunded" if policy_name == "refund" else "oversold"
    assert wait_for(lambda: order_status(shop, late_id) == final)

    store = shop.stack.store
    order = store.get_order(late_id)
    assert order is not None
    assert [e.status for e in order.history][:3] == [
        OrderStatus.PAID,
        OrderStatus.OVERSOLD,
        *([OrderStatus.REFUNDED] if policy_name == "refund" else []),
    ]
    assert order.history[1].note == "oversold: VASE x1"
    checkout = store.get_checkout(late_id)
    assert checkout is not None and store.oversold(checkout.hold_key) == {"VASE": 1}
    assert shop.available("VASE") == 0  # the second shopper's, whatever the first one's fate

    # The merchant is alerted at once, with what is short and what the policy does.
    number = order.number
    if policy_name == "refund":
        alert = shop.mail(f"Survente : commande {number} remboursée automatiquement")
        assert "le client est remboursé intégralement (45,00 €)" in text_of(alert)
        apology = shop.mail(f"Commande {number} remboursée : toutes nos excuses")
        assert "remboursé intégralement : 45,00 €" in text_of(apology)
        refunds = emulator.events("charge.refunded")
        assert [r["data"]["object"]["amount_refunded"] for r in refunds] == [4500]
        # The apology tells of the refund: no second, generic refund e-mail.
        assert not [s for s in shop.subjects() if number in s and "Remboursement" in s]
    else:
        alert = shop.mail(f"Survente : la commande {number} attend votre décision")
        assert f"comptoir orders accept {number}" in text_of(alert)
        waiting = shop.mail(f"Commande {number} : paiement reçu, stock en vérification")
        assert "soit votre commande part, soit nous vous remboursons" in text_of(waiting)
        assert emulator.events("charge.refunded") == []
        assert [o.session_id for o in store.list_orders() if o.status == "oversold"] == [late_id]
    assert alert["To"] == shop.stack.shops.current().config.email.orders_to
    assert "Vase : 1 de plus que le stock" in text_of(alert)
    # The late shopper never got a "confirmed" mail; the other shopper did.
    assert not [s for s in shop.subjects() if number in s and "confirmée" in s]
    first_order = store.get_order(first_id)
    assert first_order is not None
    shop.mail(f"Commande {first_order.number} confirmée")

    # Stripe's retries of the late event change nothing: one alert, one refund at most.
    before = shop.subjects()
    emulator.webhooks.replay(completed_event(shop.stack, late_id)["id"])
    assert emulator.webhooks.wait_until_idle(20)
    assert shop.subjects() == before
    assert len(emulator.events("charge.refunded")) == (1 if policy_name == "refund" else 0)


# -- SEPA: pending, cleared, failed ---------------------------------------------------------


def test_sepa_payments_are_acknowledged_then_cleared_or_failed_to_both(
    sepa_shop: Outcomes,
) -> None:
    shop = sepa_shop
    emulator = shop.stack.emulator
    assert emulator is not None
    ok = shop.checkout([("THE-SENCHA-50", 1)]).json()["url"]
    pay(ok, method="sepa_debit", iban="DE89370400440532013000")
    bad = shop.checkout([("THE-SENCHA-50", 2), ("BOL-BLEU", 1)]).json()["url"]
    pay(bad, method="sepa_debit", iban="DE62370400440532013001")
    assert wait_for(lambda: order_status(shop, session_of(ok)) == "pending")
    assert wait_for(lambda: order_status(shop, session_of(bad)) == "pending")
    store = shop.stack.store
    cleared, failed = (store.get_order(session_of(url)) for url in (ok, bad))
    assert cleared is not None and failed is not None

    # Pending: received, never "confirmed"; the merchant waits.
    for order in (cleared, failed):
        received = shop.mail(f"Commande {order.number} reçue : paiement en attente")
        assert "nous vous écrirons à nouveau dès que votre paiement sera encaissé" in text_of(
            received
        )
        shop.mail(f"Nouvelle commande {order.number} :")
    assert not [s for s in shop.subjects() if "confirmée" in s]

    emulator.advance_clock(600)
    emulator.tick()
    assert wait_for(lambda: order_status(shop, session_of(ok)) == "paid")
    assert wait_for(lambda: order_status(shop, session_of(bad)) == "failed")

    # Cleared: the shopper's confirmation, and the merchant told to prepare it.
    confirmed = shop.mail(f"Commande {cleared.number} confirmée")
    assert "Paiement reçu" in text_of(confirmed)
    prepare = shop.mail(f"Paiement reçu pour la commande {cleared.number}")
    assert "vous pouvez préparer la commande" in text_of(prepare)

    # Failed: both told; the shopper gets the cart back to pay again.
    notice = shop.mail(f"Le paiement de la commande {failed.number} a échoué")
    link = "https://mini.example/cart/?sku=THE-SENCHA-50&quantity=2&sku=BOL-BLEU&quantity=1"
    assert link in text_of(notice)
    html = notice.get_body(("html",))
    assert html is not None and f'href="{link.replace("&", "&amp;")}"' in html.get_content()  # type: ignore[attr-defined]
    stop = shop.mail(f"Échec du paiement de la commande {failed.number} : ne pas expédier")
    assert "n'expédiez pas cette commande" in text_of(stop)
    assert not [s for s in shop.subjects() if failed.number in s and "confirmée" in s]

    # Every event again, in any order: not one mail more.
    before = shop.subjects()
    for event in emulator.events():
        if event["type"].startswith("checkout.session"):
            emulator.webhooks.replay(event["id"])
    assert emulator.webhooks.wait_until_idle(20)
    assert shop.subjects() == before


def test_the_link_to_pay_again_fills_the_cart_with_every_item(
    browser: Browser, sepa_shop: Outcomes
) -> None:
    """The failed payment's link, opened on a phone: the cart holds the order's lines."""
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{sepa_shop.base}/cart/?sku=THE-SENCHA-50&quantity=2&sku=BOL-BLEU&quantity=1")
    page.wait_for_selector("[data-total]:not(:empty)")
    lines = page.locator("[data-cart] li")
    assert lines.count() == 2
    assert [lines.nth(i).get_attribute("data-sku") for i in range(2)] == [
        "THE-SENCHA-50",
        "BOL-BLEU",
    ]
    assert [lines.nth(i).locator("input").first.input_value() for i in range(2)] == ["2", "1"]
    assert page.evaluate("location.search") == ""  # the link is not kept to be added twice
    page.context.close()
