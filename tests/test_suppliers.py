"""Suppliers end to end: a basket of the shop's own lines and two suppliers' lines, paid
through the Stripe emulator. The e-mail supplier (no prices) gets its lines and the
address in an e-mail; the webhook supplier (prices) gets a signed POST on a receiver on
127.0.0.1; each only its own lines, never the shopper's e-mail address. A redelivered
Stripe event sends nothing more; a SEPA order waits until it clears, an oversold one
until the merchant accepts it; a failed payment never sends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest

from comptoir.cli import main
from functions.backroom import BackRoom, OperationError
from functions.backroom.orders import accept
from functions.backroom.suppliers import fulfilment
from functions.outbox import deliver_due
from functions.outgoing_webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Answer,
    deliver_webhooks,
    signature,
)
from functions.settings import Secret
from functions.suppliers import queue_supplier_orders, shares
from generator.build import build
from shop.orders import Order, OrderStatus, Refund, RefundState
from shop.published import PublishedShop
from tests.apishop import MINI, running_stack
from tests.store_contract import NOW, make_order
from tests.test_checkout_flow import order_status, pay, session_of, wait_for
from tests.test_payment_outcomes import (
    HOLD_LAPSED,
    MovableClock,
    Outcomes,
    completed_event,
    subject,
)

SECRET = "whsec_supplier_test_0123456789"
ATELIER = "commandes@atelier-dupont.fr"
SHOPPER = "camille@example.fr"  # what pay() fills in
AMOUNT = re.compile(r"\d+,\d\d")  # "24,90": a price as the French locale writes it


@dataclass
class Receiver:
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.received]


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[str, Receiver]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.received.append((dict(self.headers), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def shop_root(tmp_path_factory: pytest.TempPathFactory, receiver: tuple[str, Receiver]) -> Path:
    """The mini shop: bowls made by Atelier Dupont (e-mail, no prices), tea sent by
    Maison du Thé (webhook, prices), the vase the shop's own (one in stock)."""
    base, _ = receiver
    root = tmp_path_factory.mktemp("suppliers") / "shop"
    shutil.copytree(MINI, root)
    config = root / "content" / "shop.yaml"
    config.write_text(
        config.read_text()
        + f"""
suppliers:
  - id: atelier-dupont
    name: Atelier Dupont
    email: {ATELIER}
  - id: maison-the
    name: Maison du Thé
    webhook_url: {base}/orders
    secret_env: COMPTOIR_WEBHOOK_MAISON_THE
    show_prices: true
"""
    )
    products = root / "content" / "products"
    for name, supplier in (("bol.md", "atelier-dupont"), ("the.md", "maison-the")):
        path = products / name
        path.write_text(path.read_text().replace("\n---\n", f"\nsupplier: {supplier}\n---\n", 1))
    vase = products / "vase.md"
    vase.write_text(vase.read_text().replace("price: 40\n", "price: 40\nstock: 1\n"))
    build(root)
    return root


@pytest.fixture
def shop(shop_root: Path, tmp_path: Path) -> Iterator[Outcomes]:
    clock = MovableClock()
    env = {"COMPTOIR_WEBHOOK_MAISON_THE": SECRET}
    with running_stack(shop_root, tmp_path, env, clock=clock) as (origin, stack):
        yield Outcomes(origin, stack, shop_root, clock)


def supplier_mails(shop: Outcomes) -> list[EmailMessage]:
    return [m for m in shop.messages() if ATELIER in str(m["To"])]


def bodies_of(message: EmailMessage) -> tuple[str, str]:
    parts = [message.get_body((kind,)) for kind in ("plain", "html")]
    text, html = (cast(str, p.get_content()) for p in parts if p is not None)  # type: ignore[attr-defined]
    return text, html


def posts_for(state: Receiver, number: str) -> list[dict[str, Any]]:
    return [b for b in state.bodies() if b["data"]["order"]["number"] == number]


def send_now(shop: Outcomes) -> None:
    """A delivery pass of the outbox and the webhook queue, as the stack runs every 30 s."""
    stack, now = shop.stack, dt.datetime.now(dt.UTC)
    deliver_due(stack.store, stack.mailer, now, shop=stack.shops.current())
    deliver_webhooks(stack.store, stack.shops.current(), now, stack.settings.webhook_secrets)


def order_of(shop: Outcomes, session_id: str) -> Order:
    order = shop.stack.store.get_order(session_id)
    assert order is not None
    return order


def test_each_supplier_gets_its_own_lines_once_and_the_merchant_sees_who_ships_what(
    shop: Outcomes,
    receiver: tuple[str, Receiver],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, state = receiver
    basket = [("BOL-BLEU", 1), ("THE-SENCHA-50", 2), ("VASE", 1)]
    url = shop.checkout(basket).json()["url"]
    pay(url)
    session = session_of(url)
    assert wait_for(lambda: order_status(shop, session) == "paid")
    number = order_of(shop, session).number

    # The e-mail supplier: its bowl and the address, no price, no other line.
    [mail] = wait_for(lambda: supplier_mails(shop))
    assert subject(mail) == f"Commande {number} de Mini & Co à préparer"
    assert mail["Reply-To"].addresses[0].addr_spec == "contact@mini.example"
    text, html = bodies_of(mail)
    for shown in (text, html):
        for expected in ("Atelier Dupont", number, "BOL-BLEU", "Bol bleu", "Camille Martin"):
            assert expected in shown, expected
        assert "3 rue des Tisserands" in shown and "69001 Lyon" in shown
        for absent in ("€", "VASE", "Vase", "THE-SENCHA", "Sencha", SHOPPER):
            assert absent not in shown, absent
        assert AMOUNT.findall(shown) == [], AMOUNT.findall(shown)
    assert "Quantité : 1" in text
    assert "Passée le " in text

    # The webhook supplier: its tea with prices, signed, and nothing else.
    [post] = wait_for(lambda: posts_for(state, number))
    [(headers, raw)] = [(h, b) for h, b in state.received if json.loads(b) == post]
    stamp = int(headers[SIGNATURE_HEADER].split(",")[0].removeprefix("t="))
    assert headers[SIGNATURE_HEADER] == signature(SECRET, stamp, raw)
    assert (headers[EVENT_HEADER], post["type"]) == ("supplier.order", "supplier.order")
    assert headers[DELIVERY_HEADER] == post["id"]
    sent = post["data"]["order"]
    assert sent["lines"] == [
        {
            "sku": "THE-SENCHA-50",
            "title": "Thé vert Sencha — 50 g",
            "quantity": 2,
            "unit_price": 950,
            "total": 1900,
        }
    ]
    assert (sent["supplier"], sent["currency"], sent["pickup"]) == ("maison-the", "EUR", False)
    assert sent["shipping_address"]["city"] == "Lyon"
    assert SHOPPER not in raw.decode() and "BOL-BLEU" not in raw.decode()

    # The merchant's new-order e-mail says which lines are not theirs to ship.
    merchant = shop.mail(f"Nouvelle commande {number} :")
    text, html = bodies_of(merchant)
    for shown in (text, html):
        assert "Expédié par Atelier Dupont : ne l'expédiez pas" in shown.replace("&#39;", "'")
        assert "Expédié par Maison du Thé : ne l'expédiez pas" in shown.replace("&#39;", "'")
    assert text.count("Expédié par") == 2  # not the vase

    # Stripe delivers the payment again: nothing more for anyone.
    before = (shop.subjects(), len(state.received))
    shop.stack.emulator.webhooks.replay(completed_event(shop.stack, session)["id"])  # type: ignore[union-attr]
    assert shop.stack.emulator.webhooks.wait_until_idle(20)  # type: ignore[union-attr]
    assert (shop.subjects(), len(state.received)) == before

    # orders show: who fulfils each line, and that each supplier was told.
    monkeypatch.setenv("COMPTOIR_STORE", str(shop.stack.settings.store_path))
    assert main(["orders", "show", number, "--json", "--shop", str(shop.root)]) == 0
    shown_json = json.loads(capsys.readouterr().out)
    assert {line["sku"]: line["fulfilled_by"] for line in shown_json["lines"]} == {
        "BOL-BLEU": "Atelier Dupont",
        "THE-SENCHA-50": "Maison du Thé",
        "VASE": None,
    }
    assert [(s["id"], s["channel"], s["state"]) for s in shown_json["suppliers"]] == [
        ("atelier-dupont", "email", "sent"),
        ("maison-the", "webhook", "sent"),
    ]
    assert main(["orders", "show", number, "--shop", str(shop.root)]) == 0
    table = capsys.readouterr().out
    assert re.search(r"Atelier Dupont\s+by email: sent \d{4}-\d\d-\d\d", table)
    assert re.search(r"Maison du Thé\s+by webhook: sent", table)
    assert re.search(r"VASE .* the shop", table)


def test_sepa_waits_until_it_clears_and_a_failed_payment_never_sends(
    shop: Outcomes, receiver: tuple[str, Receiver]
) -> None:
    _, state = receiver
    emulator = shop.stack.emulator
    assert emulator is not None
    ok = shop.checkout([("BOL-BLEU", 1), ("THE-SENCHA-50", 1)]).json()["url"]
    pay(ok, method="sepa_debit", iban="DE89370400440532013000")
    bad = shop.checkout([("BOL-BLEU", 1), ("THE-SENCHA-50", 1)]).json()["url"]
    pay(bad, method="sepa_debit", iban="DE62370400440532013001")
    for url in (ok, bad):
        assert wait_for(lambda url=url: order_status(shop, session_of(url)) == "pending")
    cleared, failed = (order_of(shop, session_of(url)) for url in (ok, bad))
    shop.mail(f"Nouvelle commande {cleared.number} :")  # the merchant's mail was delivered
    assert supplier_mails(shop) == []
    assert posts_for(state, cleared.number) == []

    emulator.advance_clock(600)
    emulator.tick()
    assert wait_for(lambda: order_status(shop, cleared.session_id) == "paid")
    assert wait_for(lambda: order_status(shop, failed.session_id) == "failed")
    [mail] = wait_for(lambda: supplier_mails(shop))
    assert cleared.number in subject(mail)
    assert len(wait_for(lambda: posts_for(state, cleared.number))) == 1

    # Every event again: the failed order still sends nothing, the cleared one no more.
    for event in emulator.events():
        if event["type"].startswith("checkout.session"):
            emulator.webhooks.replay(event["id"])
    assert emulator.webhooks.wait_until_idle(20)
    shop.mail(f"Échec du paiement de la commande {failed.number} : ne pas expédier")
    assert len(supplier_mails(shop)) == 1
    assert posts_for(state, failed.number) == []
    assert len(posts_for(state, cleared.number)) == 1


def test_an_oversold_order_waits_for_the_merchant_to_accept_it(
    shop: Outcomes,
    receiver: tuple[str, Receiver],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, state = receiver
    emulator = shop.stack.emulator
    assert emulator is not None
    # The late shopper's payment is held back while their hold lapses and another
    # shopper buys the one vase.
    late = shop.checkout([("VASE", 1), ("BOL-BLEU", 1), ("THE-SENCHA-50", 1)]).json()["url"]
    emulator.webhooks.hold()
    pay(late)
    shop.clock.ahead = HOLD_LAPSED
    first = shop.checkout([("VASE", 1)]).json()["url"]
    pay(first)
    emulator.webhooks.release(
        [
            completed_event(shop.stack, session_of(first))["id"],
            completed_event(shop.stack, session_of(late))["id"],
        ]
    )
    session = session_of(late)
    assert wait_for(lambda: order_status(shop, session) == "oversold")
    number = order_of(shop, session).number
    shop.mail(f"Survente : la commande {number} attend votre décision")
    assert supplier_mails(shop) == [] and posts_for(state, number) == []

    monkeypatch.setenv("COMPTOIR_STORE", str(shop.stack.settings.store_path))
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    root = str(shop.root)
    assert main(["orders", "show", number, "--shop", root]) == 0
    assert "Atelier Dupont  by email: not sent" in capsys.readouterr().out
    assert main(["orders", "accept", number, "--shop", root]) == 0
    out = capsys.readouterr().out
    assert f"Order {number} accepted" in out and "Supplier orders queued: 2." in out
    assert order_of(shop, session).status == OrderStatus.PAID
    send_now(shop)  # the stack's own pass comes every 30 s
    [mail] = wait_for(lambda: supplier_mails(shop))
    assert number in subject(mail)
    assert len(wait_for(lambda: posts_for(state, number))) == 1
    # The shopper now gets the confirmation (with its invoice), the merchant the order.
    confirmed = shop.mail(f"Commande {number} confirmée")
    assert any(part.get_filename() for part in confirmed.iter_attachments())
    assert "Expédié par Atelier Dupont" in bodies_of(shop.mail(f"Nouvelle commande {number} :"))[0]

    # Accepting again, or Stripe's retry of the payment, sends nothing more.
    assert main(["orders", "accept", number, "--shop", root]) == 0
    assert "was accepted before" in capsys.readouterr().out
    emulator.webhooks.replay(completed_event(shop.stack, session)["id"])
    assert emulator.webhooks.wait_until_idle(20)
    assert order_of(shop, session).status == OrderStatus.PAID  # the merchant's decision stands
    assert len(supplier_mails(shop)) == 1 and len(posts_for(state, number)) == 1
    assert len([s for s in shop.subjects() if number in s and "confirmée" in s]) == 1
    # Only an oversold order is accepted.
    first_number = order_of(shop, session_of(first)).number
    assert main(["orders", "accept", first_number, "--shop", root]) == 1
    assert "only an oversold order" in capsys.readouterr().err


def test_the_supplier_is_the_one_the_product_had_when_it_was_bought(shop: Outcomes) -> None:
    """Between checkout and the day an order is sent (a SEPA debit clearing, an oversold
    order accepted) the product may change supplier or leave the catalogue: the order goes
    to whom the line was bought from, and a supplier since removed from shop.yaml is named
    as such, never silently dropped."""
    published = shop.stack.shops.current()
    bought = make_order()  # THE-VERT: not in this catalogue at all
    line = dataclasses.replace(bought.priced.lines[0], supplier="atelier-dupont")
    vase = dataclasses.replace(line, sku="VASE", supplier="maison-the")  # the shop's own now
    gone = dataclasses.replace(line, sku="BOL-BLEU", supplier="atelier-ferme")
    order = dataclasses.replace(
        bought, priced=dataclasses.replace(bought.priced, lines=(line, vase, gone))
    )
    assert [(s.supplier.id, [x.sku for x in s.lines]) for s in shares(order, published)] == [
        ("atelier-dupont", ["THE-VERT"]),
        ("maison-the", ["VASE"]),
    ]
    assert published.unknown_suppliers(order.priced.lines) == {"BOL-BLEU": "atelier-ferme"}
    by_sku = fulfilment(BackRoom(shop.stack.store, shop.stack.shops), order).by_sku
    assert by_sku["BOL-BLEU"].startswith("atelier-ferme (no longer in the settings")


def test_an_oversold_order_being_refunded_cannot_be_accepted(shop: Outcomes) -> None:
    """Its refund settles when Stripe confirms it: accepting it meanwhile would confirm,
    invoice and send to its suppliers an order being paid back."""
    store = shop.stack.store
    oversold = make_order("cs_test_refunding", status=OrderStatus.OVERSOLD)
    cancel = Refund(
        "cancel:cs_test_refunding",
        oversold.total,
        (),
        restock=True,
        cancel=True,
        state=RefundState.REQUESTED,
        requested_at=oversold.created_at,
        requested_by="merchant via CLI",
    )
    assert store.create_order(dataclasses.replace(oversold, refunds=(cancel,)))
    backroom = BackRoom(store, shop.stack.shops)
    with pytest.raises(OperationError, match="is being refunded: it cannot be accepted"):
        accept(backroom, oversold.session_id)
    assert order_of(shop, oversold.session_id).status == OrderStatus.OVERSOLD
    assert supplier_mails(shop) == []
    # Refused by Stripe, the refund no longer stands in the way.
    failed = dataclasses.replace(cancel, state=RefundState.FAILED)
    store.update_order(oversold.session_id, lambda o: dataclasses.replace(o, refunds=(failed,)))
    # With `oversold: refund` the shop pays every oversold order back itself.
    published = shop.stack.shops.current()
    refunding = dataclasses.replace(
        published, config=dataclasses.replace(published.config, oversold="refund")
    )

    class Refunding:
        def current(self) -> PublishedShop:
            return refunding

    with pytest.raises(OperationError, match="settings say `oversold: refund`"):
        accept(BackRoom(store, Refunding()), oversold.session_id)
    assert accept(backroom, oversold.session_id).order.status == OrderStatus.PAID


def test_a_supplier_order_cancelled_before_it_is_sent_is_not_sent(shop: Outcomes) -> None:
    """The queues keep the order to send: when its turn comes (an endpoint or a mail server
    down for a day, say) the order is read again, and one cancelled meanwhile is not sent."""
    store, published = shop.stack.store, shop.stack.shops.current()
    bought = make_order("cs_test_cancelled_meanwhile")
    tea = dataclasses.replace(bought.priced.lines[0], sku="THE-SENCHA-50", supplier="maison-the")
    bowl = dataclasses.replace(tea, sku="BOL-BLEU", supplier="atelier-dupont")
    lines = (tea, bowl)
    order = dataclasses.replace(bought, priced=dataclasses.replace(bought.priced, lines=lines))
    assert store.create_order(order)
    mail_key, delivery_key = sorted(queue_supplier_orders(store, published, order, NOW))
    assert mail_key.startswith("supplier:atelier-dupont:")  # by e-mail; maison-the: webhook
    store.update_order(order.session_id, lambda o: o.moved(OrderStatus.CANCELLED, "test", NOW))
    posted: list[str] = []

    def post(url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        posted.append(url)
        return Answer(200, "OK")

    secrets = {"COMPTOIR_WEBHOOK_MAISON_THE": Secret(SECRET)}
    report = deliver_webhooks(store, published, NOW, secrets, post=post)
    assert posted == [] and report.dead == 1
    delivery = store.get_delivery(delivery_key)
    assert delivery is not None and delivery.sent_at is None
    assert delivery.last_error == "the order is cancelled: not sent"
    send_now(shop)
    mail = store.get_mail(mail_key)
    assert mail is not None and mail.sent_at is None
    assert mail.last_error == "the order is cancelled: not sent"
    assert [m for m in supplier_mails(shop) if order.number in str(m["Subject"])] == []
