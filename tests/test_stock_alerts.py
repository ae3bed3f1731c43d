"""The merchant's low-stock alert end to end: purchases through the Stripe emulator, the
``comptoir stock set`` command, the store's outbox and the .eml files the merchant gets.

A SKU is told once per count (functions.stock_alerts): the sale that takes it to the
threshold alerts; a redelivered Stripe event, or further sales from the same count, do
not; a new count (the restock) arms it again.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from comptoir.cli import main
from functions.outbox import deliver_due
from generator.build import build
from tests.apishop import MINI, running_stack
from tests.test_checkout_flow import Shop, order_status, pay, session_of, wait_for

THRESHOLD = 3


@pytest.fixture(scope="module")
def shop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini shop with 4 vases and a low-stock threshold of 3 (no outgoing webhook)."""
    root = tmp_path_factory.mktemp("alerts") / "shop"
    shutil.copytree(MINI, root)
    config = root / "content" / "shop.yaml"
    config.write_text(config.read_text() + f"stock:\n  low_threshold: {THRESHOLD}\n")
    vase = root / "content" / "products" / "vase.md"
    vase.write_text(vase.read_text().replace("price: 40\n", "price: 40\nstock: 4\n"))
    build(root)
    return root


@pytest.fixture
def shop(shop_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setenv("COMPTOIR_STORE", str(tmp_path / "store.sqlite3"))  # for the CLI
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    with running_stack(shop_root, tmp_path) as (origin, stack):
        yield Shop(origin, stack, shop_root)


def queued_alerts(shop: Shop) -> list[str]:
    """The keys of the low-stock alerts in the store's outbox (read only)."""
    database = shop.stack.settings.store_path
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT key FROM outbox WHERE key LIKE 'stock-low:%' ORDER BY id")
        return [str(row[0]) for row in rows]
    finally:
        connection.close()


def alert_mails(shop: Shop) -> list[Any]:
    return [m for m in shop.mails() if str(m["Subject"]).startswith("Stock bas")]


def buy(shop: Shop, quantity: int) -> str:
    url = shop.checkout([("VASE", quantity)]).json()["url"]
    session_id = session_of(url)
    assert pay(url).status_code == 303
    wait_for(lambda: order_status(shop, session_id) == "paid")
    emulator = shop.stack.emulator
    assert emulator is not None and emulator.webhooks.wait_until_idle(20)
    return session_id


def text(mail: Any) -> str:
    return str(mail.get_body(preferencelist=("plain",)).get_content()).replace("\r\n", "\n")


def test_one_alert_per_crossing_rearmed_by_a_restock(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    # 4 -> 3: at the threshold, one alert, to the merchant, in the shop's language.
    first = buy(shop, 1)
    assert shop.available("VASE") == 3
    assert len(queued_alerts(shop)) == 1
    [mail] = wait_for(lambda: alert_mails(shop))
    assert mail["To"].addresses[0].addr_spec == shop.stack.shops.current().config.email.orders_to
    assert mail["Subject"] == "Stock bas : Vase, plus que 3"
    body = text(mail)
    for shown in (
        "Référence : VASE",
        "Disponible : 3",
        "Réservé par des paiements en cours : 0",
        f"Seuil d'alerte : {THRESHOLD}",
        'comptoir stock set VASE N --reason "nouvelle livraison"',
    ):
        assert shown in body, shown
    html = str(mail.get_body(preferencelist=("html",)).get_content())
    assert "Disponible : 3" in html and "comptoir stock set VASE N" in html

    # Stripe delivers the payment again: still one alert.
    emulator = shop.stack.emulator
    assert emulator is not None
    event = next(
        e
        for e in emulator.events("checkout.session.completed")
        if e["data"]["object"]["id"] == first
    )
    emulator.webhooks.duplicate(event["id"], 3)
    assert emulator.webhooks.wait_until_idle(20)
    assert len(queued_alerts(shop)) == 1

    # 3 -> 2: the same crossing (the same count): no second alert.
    buy(shop, 1)
    assert shop.available("VASE") == 2
    assert len(queued_alerts(shop)) == 1

    # Restocked above the threshold: no alert; the sale that takes it back down alerts.
    restock = ["stock", "set", "VASE", "10", "--reason", "livraison", "--shop", str(shop.root)]
    assert main(restock) == 0
    capsys.readouterr()
    assert len(queued_alerts(shop)) == 1
    buy(shop, 6)
    assert shop.available("VASE") == 4
    assert len(queued_alerts(shop)) == 1
    buy(shop, 1)
    assert shop.available("VASE") == 3
    alerts = queued_alerts(shop)
    assert len(alerts) == 2 and len(set(alerts)) == 2

    # Set by hand lower while already low: the same crossing, no new alert.
    broken = ["stock", "set", "VASE", "1", "--reason", "2 cassés", "--shop", str(shop.root)]
    assert main(broken) == 0
    assert len(queued_alerts(shop)) == 2
    # Restocked, then set by hand to a low count: a crossing, one alert, however often
    # the command is run; the sales from that low count alert nothing more.
    assert main(restock) == 0
    low = ["stock", "set", "VASE", "2", "--reason", "8 cassés", "--shop", str(shop.root)]
    assert main(low) == 0 and main(low) == 0
    assert len(queued_alerts(shop)) == 3
    buy(shop, 1)
    assert shop.available("VASE") == 1 and len(queued_alerts(shop)) == 3
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    deliver_due(shop.stack.store, shop.stack.mailer, later, shop=shop.stack.shops.current())
    mails = wait_for(lambda: len(alert_mails(shop)) == 3 and alert_mails(shop))
    assert sorted(str(m["Subject"]) for m in mails) == [
        "Stock bas : Vase, plus que 2",
        "Stock bas : Vase, plus que 3",
        "Stock bas : Vase, plus que 3",
    ]
