"""Outgoing webhooks end to end: a purchase through the emulator queues ``order.paid`` (and
``stock.low``), a receiver on 127.0.0.1 fails twice then accepts: exactly one delivery is
accepted, every attempt carries the same event id, the signature verifies with the
receiver of docs/webhooks.md, and a Stripe event delivered again sends nothing more.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from comptoir.cli import main
from comptoir.local import LocalStack
from functions.outgoing_webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    Answer,
    deliver_webhooks,
    queue_event,
)
from functions.settings import Secret
from functions.sqlite_store import SQLiteStore
from generator.build import build
from shop.orders import OrderStatus
from tests.apishop import MINI, PROMOS, running_stack
from tests.test_checkout_flow import Shop, order_status, pay, session_of, wait_for

SECRET = "whsec_outgoing_test_0123456789"
DOCS = Path(__file__).parent.parent / "docs" / "webhooks.md"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """Answers 500 to the first ``failures`` requests on /paid, then 200; 200 elsewhere."""

    failures: int = 2
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path and r.status == 200]

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[str, Receiver]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                failing = self.path == "/paid" and len(state.on("/paid")) < state.failures
                status = 500 if failing else 200
                state.received.append(Received(self.path, dict(self.headers), body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def shop_root(tmp_path_factory: pytest.TempPathFactory, receiver: tuple[str, Receiver]) -> Path:
    base, _ = receiver
    root = tmp_path_factory.mktemp("hooks") / "shop"
    shutil.copytree(MINI, root)
    config = root / "content" / "shop.yaml"
    hooks = f"""
stock:
  low_threshold: 1
webhooks:
  - url: {base}/paid
    events: [order.paid]
    secret_env: COMPTOIR_WEBHOOK_TEST
  - url: {base}/stock
    events: [stock.low, order.shipped]
    secret_env: COMPTOIR_WEBHOOK_TEST
"""
    config.write_text(config.read_text() + PROMOS + hooks)
    vase = root / "content" / "products" / "vase.md"
    vase.write_text(vase.read_text().replace("price: 40\n", "price: 40\nstock: 3\n"))
    build(root)
    return root


@pytest.fixture
def shop(shop_root: Path, tmp_path: Path) -> Iterator[Shop]:
    env = {"COMPTOIR_WEBHOOK_TEST": SECRET}
    with running_stack(shop_root, tmp_path, env) as (origin, stack):
        yield Shop(origin, stack, shop_root)


def documented_verify() -> Any:
    """The ``verify`` of the receiver in docs/webhooks.md, run as written."""
    [code] = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert len([line for line in code.splitlines() if line.strip()]) <= 23  # ~20 lines
    namespace: dict[str, Any] = {"__name__": "docs_receiver"}
    exec(compile(code, str(DOCS), "exec"), namespace)
    return namespace["verify"]


def test_fails_twice_then_accepted_once_signed_and_never_twice(
    shop: Shop, receiver: tuple[str, Receiver]
) -> None:
    _, state = receiver
    stack: LocalStack = shop.stack
    url = shop.checkout([("VASE", 2)]).json()["url"]
    session = session_of(url)
    pay(url)
    wait_for(lambda: order_status(shop, session) == "paid")
    secrets = stack.settings.webhook_secrets
    assert secrets["COMPTOIR_WEBHOOK_TEST"].reveal() == SECRET

    # The pass that follows Stripe's webhook makes the first attempts (the events are
    # queued once the order is settled: its invoice, its mails).
    wait_for(lambda: state.on("/paid") and state.on("/stock"))
    time.sleep(0.5)  # for that pass to record the failure
    # Then passes as the schedule runs them, later and later, until /paid accepts.
    start = dt.datetime.now(dt.UTC)
    for minutes in (2, 10, 60, 180):
        deliver_webhooks(
            stack.store, stack.shops.current(), start + dt.timedelta(minutes=minutes), secrets
        )
        if state.accepted("/paid"):
            break
    attempts = state.on("/paid")
    assert [a.status for a in attempts] == [500, 500, 200]
    [accepted] = state.accepted("/paid")
    ids = {a.headers[DELIVERY_HEADER] for a in attempts}
    body = json.loads(accepted.body)
    assert ids == {body["id"]} and body["id"].startswith("evt_")
    assert body["type"] == "order.paid" and accepted.headers["Comptoir-Event"] == "order.paid"
    order = stack.store.get_order(session)
    assert order is not None and order.status == OrderStatus.PAID
    assert body["data"]["order"]["number"] == order.number
    assert body["data"]["order"]["total"] == order.total.amount
    verify = documented_verify()
    header = accepted.headers[SIGNATURE_HEADER]
    # The signature is dated by the pass that sent it (the schedule's clock, ahead here).
    assert verify(header, accepted.body, SECRET.encode(), tolerance=10**6)
    assert not verify(header, accepted.body + b" ", SECRET.encode(), tolerance=10**6)
    assert not verify(header, accepted.body, b"another secret", tolerance=10**6)

    # stock.low: the sale left 1 vase (the threshold): one event, accepted at once.
    [low] = state.accepted("/stock")
    assert json.loads(low.body)["data"] == {"sku": "VASE", "available": 1, "threshold": 1}

    # Stripe delivers the payment again: nothing more is queued, nothing more is sent.
    emulator = stack.emulator
    assert emulator is not None
    event = next(
        e
        for e in emulator.events("checkout.session.completed")
        if e["data"]["object"]["id"] == session
    )
    emulator.webhooks.duplicate(event["id"], 3)
    assert emulator.webhooks.wait_until_idle(20)
    far = start + dt.timedelta(days=5)
    report = deliver_webhooks(stack.store, stack.shops.current(), far, secrets)
    assert report.claimed == 0
    assert len(state.accepted("/paid")) == 1 and len(state.on("/paid")) == 3
    assert len(state.on("/stock")) == 1

    # The merchant ships it, twice by mistake: one order.shipped, with the parcel in it.
    ship = ["orders", "ship", order.number, "--carrier", "colissimo", "--tracking", "8R123"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COMPTOIR_STORE", str(stack.settings.store_path))
        patch.delenv("STRIPE_SECRET_KEY", raising=False)
        for _ in range(2):
            assert main([*ship, "--shop", str(shop.root)]) == 0
    deliver_webhooks(stack.store, stack.shops.current(), far, secrets)
    deliver_webhooks(stack.store, stack.shops.current(), far + dt.timedelta(hours=1), secrets)
    [shipped] = state.on("/stock")[1:]
    sent = json.loads(shipped.body)
    assert (shipped.status, sent["type"]) == (200, "order.shipped")
    assert sent["data"]["order"]["status"] == "fulfilled"
    assert sent["data"]["order"]["shipments"][0]["tracking"] == "8R123"


def test_gone_endpoint_missing_secret_and_removed_endpoint(tmp_path: Path, shop_root: Path) -> None:
    """A 410 gives up at once; a missing secret is retried (the merchant may set it);
    an endpoint no longer in shop.yaml is given up."""
    from shop.published import load, published_path

    shop = load(published_path(shop_root))
    [paid, stock] = shop.config.webhooks
    now = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    sent: list[tuple[str, dict[str, str]]] = []

    def gone(url: str, body: bytes, headers: Any) -> Answer:
        sent.append((url, dict(headers)))
        return Answer(410, "Gone")

    with SQLiteStore(tmp_path / "store.sqlite3") as store:
        assert queue_event(store, shop, "order.paid", "cs_x:paid", {"session_id": "cs_x"}, now)
        assert not queue_event(store, shop, "order.paid", "cs_x:paid", {"session_id": "cs_x"}, now)
        report = deliver_webhooks(store, shop, now, {}, post=gone)
        assert (report.failed, sent) == (1, [])  # no secret: not sent, retried later
        later = now + dt.timedelta(minutes=5)
        key = {"COMPTOIR_WEBHOOK_TEST": Secret(SECRET)}
        report = deliver_webhooks(store, shop, later, key, post=gone)
        assert report.dead == 1 and [url for url, _ in sent] == [paid.url]
        assert (
            deliver_webhooks(store, shop, later + dt.timedelta(days=9), key, post=gone).claimed == 0
        )
        assert queue_event(store, shop, "stock.low", "VASE:c1", {"sku": "VASE"}, now) == 1
        moved = shop.__class__.of(
            shop.config.__class__(
                **{
                    **{n: getattr(shop.config, n) for n in shop.config.__dataclass_fields__},
                    "webhooks": (paid,),
                }
            ),
            shop.catalogue,
            shop.pages,
            shop.emails,
        )
        assert deliver_webhooks(store, moved, later, key, post=gone).dead == 1
        assert stock.url not in [url for url, _ in sent]
