"""A paid checkout becomes exactly one order and one confirmation, whatever Stripe does.

Everything runs for real on 127.0.0.1: the functions under uvicorn, the official
``stripe`` library, the offline emulator's payment page and its signed webhooks,
the SQLite store and the .eml outbox. Nothing is mocked.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest

from comptoir.local import LocalStack
from functions.backroom import BackRoom
from functions.backroom.orders import ship
from functions.store import OrderStatus
from generator.build import build
from stripe_emulator import signature_header
from tests.apishop import MINI, PROMOS, running_stack

CARD_OK = "4242 4242 4242 4242"
CARD_DECLINED = "4000 0000 0000 0002"


@dataclass
class Shop:
    base: str
    stack: LocalStack
    root: Path

    @property
    def outbox(self) -> Path:
        return self.stack.settings.outbox_dir

    def mails(self) -> list[Any]:
        if not self.outbox.exists():
            return []
        return [
            message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(self.outbox.glob("*.eml"))
        ]

    def available(self, sku: str) -> int | None:
        return self.stack.store.available([sku], dt.datetime.now(dt.UTC))[sku]

    def checkout(self, items: list[tuple[str, int]], **extra: Any) -> httpx.Response:
        body = {"items": [{"sku": s, "quantity": q} for s, q in items], "country": "FR", **extra}
        return httpx.post(
            self.base + "/api/checkout", json=body, headers={"origin": self.base}, timeout=30
        )


@pytest.fixture(scope="module")
def shop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("flow") / "shop"
    shutil.copytree(MINI, root)
    config = root / "content" / "shop.yaml"
    config.write_text(config.read_text() + PROMOS)
    vase = root / "content" / "products" / "vase.md"
    vase.write_text(vase.read_text().replace("price: 40\n", "price: 40\nstock: 1\n"))
    build(root)
    return root


@pytest.fixture
def shop(shop_root: Path, tmp_path: Path) -> Iterator[Shop]:
    with running_stack(shop_root, tmp_path) as (origin, stack):
        yield Shop(origin, stack, shop_root)


def pay(url: str, card: str = CARD_OK, method: str = "card", iban: str = "") -> httpx.Response:
    form = {
        "email": "camille@example.fr",
        "name": "Camille Martin",
        "country": "FR",
        "line1": "3 rue des Tisserands",
        "postal_code": "69001",
        "city": "Lyon",
        "payment_method": method,
        "card_number": card,
        "card_expiry": "12/34",
        "card_cvc": "123",
        "iban": iban,
        "terms": "accepted",
        "promotions": "opt_in",
    }
    return httpx.post(url, data=form, follow_redirects=False, timeout=30)


def session_of(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def wait_for(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def order_status(shop: Shop, session_id: str) -> str | None:
    response = httpx.get(f"{shop.base}/api/orders/{session_id}", timeout=10)
    return response.json().get("status") if response.status_code == 200 else None


def paid_order(shop: Shop) -> tuple[str, dict[str, Any]]:
    """Buy one bowl with the success card; the session id and its completed event."""
    url = shop.checkout([("BOL-BLEU", 1)]).json()["url"]
    session_id = session_of(url)
    pay(url)
    wait_for(lambda: order_status(shop, session_id) == "paid")
    assert shop.stack.emulator is not None
    event = next(
        e
        for e in shop.stack.emulator.events("checkout.session.completed")
        if e["data"]["object"]["id"] == session_id
    )
    return session_id, event


def test_paid_checkout_becomes_one_order_with_mails(shop: Shop) -> None:
    response = shop.checkout([("BOL-BLEU", 2), ("THE-SENCHA-50", 1)], promo_code="BIENVENUE10")
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    assert url.startswith(shop.base + "/_stripe/pay/cs_test_")
    assert shop.available("BOL-BLEU") == 1  # held while the shopper pays
    paid = pay(url)
    assert paid.status_code == 303
    session_id = session_of(url)
    assert paid.headers["location"] == f"{shop.base}/order/?session_id={session_id}"
    assert wait_for(lambda: order_status(shop, session_id) == "paid")
    order = httpx.get(f"{shop.base}/api/orders/{session_id}").json()
    session = shop.stack.emulator.retrieve_checkout_session(session_id, {})  # type: ignore[union-attr]
    assert order["total"]["amount"] == session["amount_total"]
    assert order["email"] == "c•••@example.fr" and "camille@" not in json.dumps(order)
    assert order["address"] == {"lines": FULL_ADDRESS, "complete": True}
    assert shop.available("BOL-BLEU") == 1 and shop.available("THE-SENCHA-50") == 9
    mails = wait_for(lambda: len(shop.mails()) == 2 and shop.mails())

    def to(mail: Any) -> str:
        return str(mail["To"].addresses[0].addr_spec)

    assert sorted(to(m) for m in mails) == ["camille@example.fr", "commandes@mini.example"]
    confirmation = next(m for m in mails if to(m) == "camille@example.fr")
    text = confirmation.get_body(preferencelist=("plain",)).get_content()
    assert order["total"]["display"] in text  # the same total as the Stripe session


def test_webhook_storm_sequential_and_concurrent(shop: Shop) -> None:
    session_id, event = paid_order(shop)
    emulator = shop.stack.emulator
    assert emulator is not None
    emulator.webhooks.duplicate(event["id"], 10)
    assert emulator.webhooks.wait_until_idle(20)
    payload = json.dumps(event).encode()
    secret = shop.stack.settings.webhook_secret.reveal()

    def deliver(_: int) -> int:
        header = signature_header(payload, secret, int(time.time()))
        return httpx.post(
            shop.base + "/api/stripe/webhook",
            content=payload,
            headers={"stripe-signature": header, "content-type": "application/json"},
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(10) as pool:
        assert list(pool.map(deliver, range(10))) == [200] * 10
    orders = [o for o in shop.stack.store.list_orders() if o.session_id == session_id]
    assert len(orders) == 1
    assert shop.available("BOL-BLEU") == 2  # one decrement
    wait_for(lambda: len(shop.mails()) == 2)
    time.sleep(0.5)
    assert len(shop.mails()) == 2  # one confirmation, one merchant notice


def test_signature_tolerance_and_tampering(shop: Shop) -> None:
    secret = shop.stack.settings.webhook_secret.reveal()
    payload = json.dumps(
        {
            "id": "evt_test_tolerance",
            "object": "event",
            "type": "ping.test",
            "data": {"object": {}},
            "api_version": "2025-01-01",
            "created": int(time.time()),
            "livemode": False,
        }
    ).encode()

    def post(body: bytes, signed: bytes, age: int) -> int:
        # Whole-second timestamps: round so the event is at most `age` seconds old when it
        # is accepted (ceil) and at least that old when it must be refused (floor).
        now = time.time()
        stamp = (math.ceil(now) if age < 300 else math.floor(now)) - age
        header = signature_header(signed, secret, stamp)
        return httpx.post(
            shop.base + "/api/stripe/webhook", content=body, headers={"stripe-signature": header}
        ).status_code

    assert post(payload, payload, 299) == 200
    assert post(payload, payload, 301) == 400
    assert post(payload.replace(b"ping", b"pong"), payload, 0) == 400


def test_events_out_of_order_and_unknown_session(shop: Shop) -> None:
    session_id, completed = paid_order(shop)
    secret = shop.stack.settings.webhook_secret.reveal()
    # An expiry arriving after the payment must not give the stock back.
    expired = {**completed, "id": "evt_test_late_expiry", "type": "checkout.session.expired"}
    unknown = {
        **completed,
        "id": "evt_test_unknown",
        "data": {"object": {**completed["data"]["object"], "id": "cs_test_unknownsession1"}},
    }
    for event in (expired, unknown):
        payload = json.dumps(event).encode()
        header = signature_header(payload, secret, int(time.time()))
        response = httpx.post(
            shop.base + "/api/stripe/webhook", content=payload, headers={"stripe-signature": header}
        )
        assert response.status_code == 200
    assert shop.available("BOL-BLEU") == 2
    assert order_status(shop, session_id) == "paid"
    assert len(shop.stack.store.list_orders()) == 1


def test_expiry_releases_the_hold(shop: Shop) -> None:
    url = shop.checkout([("BOL-BLEU", 3)]).json()["url"]
    assert shop.available("BOL-BLEU") == 0
    emulator = shop.stack.emulator
    assert emulator is not None
    emulator.advance_clock(31 * 60)
    emulator.tick()
    assert emulator.webhooks.wait_until_idle(20)
    assert any(
        e["data"]["object"]["id"] == session_of(url)
        for e in emulator.events("checkout.session.expired")
    )
    assert wait_for(lambda: shop.available("BOL-BLEU") == 3)


def test_declined_card_changes_nothing(shop: Shop) -> None:
    url = shop.checkout([("BOL-BLEU", 1)]).json()["url"]
    response = pay(url, CARD_DECLINED)
    assert response.status_code in (200, 402, 400)
    assert "declined" in response.text.lower()
    assert order_status(shop, session_of(url)) is None
    assert shop.stack.store.list_orders() == []
    assert shop.available("BOL-BLEU") == 2  # still held for this open session, not sold


def test_sepa_pending_then_paid_and_failed(shop: Shop) -> None:
    emulator = shop.stack.emulator
    assert emulator is not None
    ok = shop.checkout([("THE-SENCHA-50", 1)]).json()["url"]
    pay(ok, method="sepa_debit", iban="DE89370400440532013000")
    assert wait_for(lambda: order_status(shop, session_of(ok)) == "pending")
    bad = shop.checkout([("THE-SENCHA-50", 2)]).json()["url"]
    pay(bad, method="sepa_debit", iban="DE62370400440532013001")
    assert wait_for(lambda: order_status(shop, session_of(bad)) == "pending")
    assert shop.available("THE-SENCHA-50") == 7
    emulator.advance_clock(600)
    emulator.tick()
    assert wait_for(lambda: order_status(shop, session_of(ok)) == "paid")
    assert wait_for(lambda: order_status(shop, session_of(bad)) == "failed")
    assert wait_for(lambda: shop.available("THE-SENCHA-50") == 9)  # the failed one restocked
    assert shop.stack.store.get_order(session_of(bad)).status == OrderStatus.FAILED  # type: ignore[union-attr]


def test_last_item_twenty_concurrent_checkouts(shop: Shop) -> None:
    barrier = threading.Barrier(20)

    def attempt(_: int) -> int:
        barrier.wait()
        return shop.checkout([("VASE", 1)]).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(attempt, range(20)))
    assert sorted(statuses) == [201] + [409] * 19
    assert shop.available("VASE") == 0
    refused = shop.checkout([("VASE", 1)])
    assert refused.json()["error"] == {
        "code": "out_of_stock",
        "message": "Not enough stock for this product.",
        "sku": "VASE",
        "available": 0,
    }


def failed_attempts(database: Path) -> list[int]:
    """The outbox's attempt counts, read-only (a peek at SQLite, for timing only)."""
    import sqlite3

    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return sorted(row[0] for row in connection.execute("SELECT attempts FROM outbox"))
    finally:
        connection.close()


def test_mail_outage_delays_mail_without_losing_or_doubling_it(
    shop_root: Path, tmp_path: Path
) -> None:
    from functions.app import utc_now
    from functions.outbox import deliver_due
    from tests.mailer_contract import SMTPServer

    smtp = SMTPServer()  # not started: the mail server is down when the webhook lands
    smtp_env = {"COMPTOIR_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}"}
    with running_stack(shop_root, tmp_path, smtp_env) as (origin, stack):
        shop = Shop(origin, stack, shop_root)
        url = shop.checkout([("BOL-BLEU", 1)]).json()["url"]
        pay(url)
        assert wait_for(lambda: order_status(shop, session_of(url)) == "paid")
        assert stack.emulator is not None and stack.emulator.webhooks.wait_until_idle(20)
        assert smtp.received == []
        # Wait for the webhook's own delivery attempt to fail, so no sender with the
        # real clock is still running when this test jumps the clock past the backoff.
        started = time.monotonic()
        assert wait_for(lambda: failed_attempts(tmp_path / "store.sqlite3") == [1, 1])
        print(f"first delivery attempt failed after {time.monotonic() - started:.2f} s")
        later = utc_now() + dt.timedelta(hours=2)  # past any retry backoff
        with smtp:
            current = stack.shops.current()
            report = deliver_due(stack.store, stack.mailer, later, shop=current)
            assert report.sent == 2
            assert deliver_due(stack.store, stack.mailer, later, shop=current).sent == 0
            received = smtp.received
        assert sorted(r.recipients for r in received) == [
            ("camille@example.fr",),
            ("commandes@mini.example",),
        ]


def test_cancel_frees_the_hold_at_once(shop: Shop) -> None:
    response = shop.checkout([("VASE", 1)])
    assert response.status_code == 201
    session_id = response.json()["session_id"]
    assert response.json()["url"].endswith(session_id)
    assert shop.available("VASE") == 0
    cancel = httpx.post(
        f"{shop.base}/api/checkout/{session_id}/cancel", headers={"origin": shop.base}
    )
    assert cancel.status_code == 200
    assert shop.available("VASE") == 1
    again = httpx.post(
        f"{shop.base}/api/checkout/{session_id}/cancel", headers={"origin": shop.base}
    )
    assert again.status_code == 200  # idempotent
    foreign = httpx.post(
        f"{shop.base}/api/checkout/{session_id}/cancel", headers={"origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    unknown = httpx.post(f"{shop.base}/api/checkout/cs_test_nosuchsession0000/cancel")
    assert unknown.status_code == 404


def test_a_paid_checkout_cannot_be_cancelled(shop: Shop) -> None:
    session_id, _ = paid_order(shop)
    response = httpx.post(f"{shop.base}/api/checkout/{session_id}/cancel")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "already_paid")
    assert order_status(shop, session_id) == "paid"
    assert shop.available("BOL-BLEU") == 2


def test_cancel_after_payment_before_the_webhook_keeps_the_sale(shop: Shop) -> None:
    emulator = shop.stack.emulator
    assert emulator is not None
    response = shop.checkout([("VASE", 1)])
    session_id = response.json()["session_id"]
    emulator.webhooks.hold()  # the payment's webhook is late
    pay(response.json()["url"])
    cancel = httpx.post(f"{shop.base}/api/checkout/{session_id}/cancel")
    assert (cancel.status_code, cancel.json()["error"]["code"]) == (409, "already_paid")
    assert shop.available("VASE") == 0  # still held: it was sold
    emulator.webhooks.release()
    assert wait_for(lambda: order_status(shop, session_id) == "paid")
    assert shop.available("VASE") == 0
    assert shop.checkout([("VASE", 1)]).status_code == 409  # never sold twice


def test_refund_of_a_cancelled_order_is_recorded(shop: Shop) -> None:
    session_id, _ = paid_order(shop)
    now = dt.datetime.now(dt.UTC)
    shop.stack.store.set_order_status(session_id, OrderStatus.CANCELLED, "test", now)
    emulator = shop.stack.emulator
    assert emulator is not None
    payment = emulator.retrieve_checkout_session(session_id, {})["payment_intent"]
    headers = {"authorization": f"Bearer {shop.stack.settings.stripe_key.reveal()}"}
    refund = httpx.post(
        f"{shop.base}/_stripe/v1/refunds", data={"payment_intent": payment}, headers=headers
    )
    assert refund.status_code == 200, refund.text
    assert wait_for(lambda: order_status(shop, session_id) == "refunded")


def test_a_one_use_code_is_used_once_even_by_concurrent_checkouts(shop: Shop) -> None:
    barrier = threading.Barrier(3)

    def attempt(_: int) -> httpx.Response:
        barrier.wait()
        return shop.checkout([("BOL-BLEU", 1)], promo_code="UNEFOIS")

    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(attempt, range(3)))
    assert sorted(r.status_code for r in responses) == [201, 422, 422]
    refused = next(r for r in responses if r.status_code == 422).json()["error"]
    assert (refused["code"], refused["reason"]) == ("promo_code_rejected", "used_up")
    # The checkout holding the code is cancelled: the code can be used again.
    holder = next(r for r in responses if r.status_code == 201).json()["session_id"]
    assert httpx.post(f"{shop.base}/api/checkout/{holder}/cancel").status_code == 200
    again = shop.checkout([("BOL-BLEU", 1)], promo_code="UNEFOIS")
    assert again.status_code == 201
    pay(again.json()["url"])
    assert wait_for(lambda: order_status(shop, again.json()["session_id"]) == "paid")
    assert shop.stack.store.code_uses("UNEFOIS") == 1
    assert shop.checkout([("BOL-BLEU", 1)], promo_code="UNEFOIS").status_code == 422


def receipt(shop: Shop, session_id: str) -> dict[str, Any]:
    """The order page's data, checked to add up: lines to the subtotal, and
    subtotal − discounts + shipping to the total, in minor units."""
    response = httpx.get(f"{shop.base}/api/orders/{session_id}", timeout=10)
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    lines, shipping = order["lines"], order["shipping"]
    assert sum(line["subtotal"]["amount"] for line in lines) == order["subtotal"]["amount"]
    for line in lines:
        assert line["subtotal"]["amount"] == line["unit_price"]["amount"] * line["quantity"]
        assert line["total"]["amount"] == line["subtotal"]["amount"] - line["discount"]["amount"]
    discounts = sum(d["amount"]["amount"] for d in order["discounts"])
    assert sum(line["discount"]["amount"] for line in lines) == discounts
    delivery = shipping["price"]["amount"] if shipping else 0
    assert order["subtotal"]["amount"] - discounts + delivery == order["total"]["amount"]
    # Every amount comes with its display in the shop's locale.
    amounts = [order["subtotal"], order["total"], *(d["amount"] for d in order["discounts"])]
    amounts += [v["vat"] for v in order["vat"]] + ([shipping["price"]] if shipping else [])
    amounts += [line[k] for line in lines for k in ("unit_price", "subtotal", "discount", "total")]
    for money in amounts:
        assert set(money) == {"amount", "display"} and money["display"].endswith("€"), money
    # Nothing personal beyond the delivery address (see FULL_ADDRESS) and the masked e-mail.
    assert not {"customer_name", "name", "shipping_address", "email_address"} & set(order)
    assert "camille@" not in json.dumps(order, ensure_ascii=False)
    assert order["email"] == "c•••@example.fr"
    return order


# What the payment page was given (``pay``), as the order page shows it.
FULL_ADDRESS = ["Camille Martin", "3 rue des Tisserands", "69001 Lyon", "France"]


def test_order_endpoint_gives_a_receipt_that_adds_up(shop: Shop) -> None:
    session_id, _ = paid_order(shop)  # one bowl, 24,90 €, sent by Colis
    order = receipt(shop, session_id)
    assert [(line["title"], line["quantity"]) for line in order["lines"]] == [("Bol bleu", 1)]
    assert order["lines"][0]["unit_price"] == {"amount": 2490, "display": "24,90\xa0€"}
    assert order["discounts"] == []
    assert order["shipping"] == {"label": "Colis", "price": {"amount": 500, "display": "5,00\xa0€"}}
    assert order["pickup"] is False
    assert order["total"]["amount"] == 2990
    assert [(v["rate"], v["rate_display"]) for v in order["vat"]] == [("20", "20\xa0%")]
    assert order["vat"][0]["vat"]["amount"] == 498  # 29,90 × 20 / 120, rounded
    assert {"status", "number", "paid", "lines", "pickup", "total", "email"} <= set(order)
    assert order["address"] == {"lines": FULL_ADDRESS, "complete": True}


def test_the_order_shows_its_address_to_its_link_only(shop: Shop) -> None:
    """The checkout session's id is the key: another one, even a real one, gets nothing of it;
    and the answer is never stored by a browser or a cache."""
    session_id, _ = paid_order(shop)
    mine = httpx.get(f"{shop.base}/api/orders/{session_id}", timeout=10)
    assert mine.json()["address"]["lines"] == FULL_ADDRESS
    assert mine.headers["cache-control"] == "no-store"
    other = shop.checkout([("BOL-BLEU", 1)]).json()["url"]  # a real session, not paid
    wrong = [session_of(other), session_id[:-1] + ("a" if session_id[-1] != "a" else "b")]
    for session in wrong:
        response = httpx.get(f"{shop.base}/api/orders/{session}", timeout=10)
        assert response.status_code in (202, 404), response.text
        assert response.headers["cache-control"] == "no-store"
        for personal in ("Camille", "Tisserands", "69001", "Lyon"):
            assert personal not in response.text


def test_the_full_address_is_shown_until_the_parcel_leaves(shop: Shop) -> None:
    """Once the parcel is sent, the page keeps postcode, town and country only: the address
    can no longer be corrected, and the e-mails keep it for the shopper."""
    session_id, _ = paid_order(shop)
    stack = shop.stack
    ship(BackRoom(stack.store, stack.shops), session_id, "colissimo", "6A12345678901")
    order = receipt(shop, session_id)
    assert order["status"] == "fulfilled"
    assert order["address"] == {"lines": ["69001 Lyon", "France"], "complete": False}
    for personal in ("Camille", "Martin", "Tisserands"):
        assert personal not in json.dumps(order, ensure_ascii=False), personal


def test_the_full_address_is_shown_for_thirty_days(shop_root: Path, tmp_path: Path) -> None:
    """A link left in a browser's history or a forwarded e-mail shows less with time."""
    later = dt.timedelta()

    def clock() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + later

    with running_stack(shop_root, tmp_path, clock=clock) as (origin, stack):
        shop = Shop(origin, stack, shop_root)
        session_id, _ = paid_order(shop)
        later = dt.timedelta(days=29, hours=23)
        assert receipt(shop, session_id)["address"]["complete"] is True
        later = dt.timedelta(days=30, minutes=1)
        assert receipt(shop, session_id)["address"] == {
            "lines": ["69001 Lyon", "France"],
            "complete": False,
        }


def test_order_receipt_with_a_promo_code_and_a_pickup(shop: Shop) -> None:
    response = shop.checkout(
        [("BOL-BLEU", 2), ("THE-SENCHA-50", 1)], promo_code="BIENVENUE10", shipping_method="pickup"
    )
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    pay(url)
    assert wait_for(lambda: order_status(shop, session_of(url)) == "paid")
    order = receipt(shop, session_of(url))
    assert order["subtotal"]["amount"] == 2 * 2490 + 950
    [discount] = order["discounts"]
    assert discount["amount"]["amount"] == 593  # 10 % of 59,30 €, rounded half up
    assert order["shipping"] == {"label": "Retrait", "price": {"amount": 0, "display": "0,00\xa0€"}}
    assert order["pickup"] is True
    assert order["address"] is None  # collected in the shop: no address asked, none shown
    assert sorted(v["rate_display"] for v in order["vat"]) == ["20\xa0%", "5,5\xa0%"]
    assert sum(v["vat"]["amount"] for v in order["vat"]) > 0
