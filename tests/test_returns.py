"""`comptoir returns`: open within the legal period, receive (restock and refund), list, show.

Through the CLI against the real local stack (SQLite store, Stripe emulator and its signed
``charge.refunded`` webhook): exit codes, output, then the store's state.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from comptoir.cli import main
from generator.build import build
from shop.returns import ReturnStatus
from tests.apishop import MINI, running_stack
from tests.test_checkout_flow import Shop, order_status, pay, session_of, wait_for


@pytest.fixture(scope="module")
def shop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("returns") / "shop"
    shutil.copytree(MINI, root)
    bowl = root / "content" / "products" / "bol.md"
    bowl.write_text(bowl.read_text().replace("stock: 3\n", "stock: 50\n"))
    build(root)
    return root


@pytest.fixture
def shop(shop_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    with running_stack(shop_root, tmp_path) as (origin, stack):
        settings = stack.settings
        for name, value in {
            "STRIPE_SECRET_KEY": settings.stripe_key.reveal(),
            "STRIPE_WEBHOOK_SECRET": settings.webhook_secret.reveal(),
            "STRIPE_API_BASE": settings.stripe_api_base or "",
            "COMPTOIR_STORE": settings.store,
        }.items():
            monkeypatch.setenv(name, value)
        yield Shop(origin, stack, shop_root)


def bought(shop: Shop, items: list[tuple[str, int]]) -> tuple[str, str]:
    """A paid order of ``items``: its session id and number."""
    url = shop.checkout(items).json()["url"]
    session_id = session_of(url)
    pay(url)
    wait_for(lambda: order_status(shop, session_id) == "paid")
    order = shop.stack.store.get_order(session_id)
    assert order is not None
    return session_id, order.number


def run(shop: Shop, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["returns", *args, "--shop", str(shop.root)])
    out, err = capsys.readouterr()
    return code, out, err


def as_json(shop: Shop, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(shop, capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_help_for_every_action(capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("open", "receive", "list", "show"):
        with pytest.raises(SystemExit) as exit_:
            main(["returns", action, "--help"])
        assert exit_.value.code == 0
        assert "usage: comptoir returns " + action in capsys.readouterr().out


def test_open_then_receive_part_then_the_rest_refunds_delivery_once(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    session_id, number = bought(shop, [("BOL-BLEU", 2)])
    order = shop.stack.store.get_order(session_id)
    assert order is not None
    [line] = order.priced.lines
    before = shop.available("BOL-BLEU")

    first = as_json(shop, capsys, "open", number, "--lines", "BOL-BLEU:1")
    assert first["rid"] == f"{number}-R1" and first["status"] == "requested"
    delivered = dt.date.fromisoformat(first["delivered_on"])
    assert first["request_deadline"] == (delivered + dt.timedelta(days=14)).isoformat()

    code, _, err = run(shop, capsys, "open", number, "--lines", "BOL-BLEU:2")
    assert code == 1 and "1 of 2 can still come back" in err  # one is already coming back

    received = as_json(shop, capsys, "receive", first["rid"])
    assert received["status"] == "refunded"
    assert received["refund_amount"]["amount"] == line.total.amount // 2  # no delivery yet
    assert received["refund_deadline"] is not None
    assert shop.available("BOL-BLEU") == (before or 0) + 1
    again = as_json(shop, capsys, "receive", first["rid"])  # twice: nothing more
    assert again == received
    assert shop.available("BOL-BLEU") == (before or 0) + 1

    rest = as_json(shop, capsys, "open", number)  # everything not yet coming back
    assert rest["rid"] == f"{number}-R2" and rest["lines"][0]["quantity"] == 1
    last = as_json(shop, capsys, "receive", rest["rid"])
    delivery = order.priced.delivery.price.amount
    assert last["refund_amount"]["amount"] == line.total.amount - line.total.amount // 2 + delivery
    assert (
        received["refund_amount"]["amount"] + last["refund_amount"]["amount"] == order.total.amount
    )
    # The emulator refunded exactly that, and its webhook moved the order.
    wait_for(lambda: order_status(shop, session_id) == "refunded")

    code, out, _ = run(shop, capsys, "list", "--order", number)
    assert code == 0 and f"{number}-R1" in out and f"{number}-R2" in out
    code, out, _ = run(shop, capsys, "show", rest["rid"])
    assert code == 0 and "refunded" in out and "BOL-BLEU" in out
    stored = shop.stack.store.get_return(rest["rid"])
    assert stored is not None and stored.status == ReturnStatus.REFUNDED


def test_a_request_after_the_deadline_is_refused_with_the_date(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    _, number = bought(shop, [("BOL-BLEU", 1)])
    code, out, err = run(shop, capsys, "open", number, "--delivered", "2020-01-02")
    assert code == 1 and out == ""
    assert "ended on 2020-01-16" in err and "Traceback" not in err
    assert shop.stack.store.list_returns() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["open", "CT-20200101-ABCDEF"], "no order 'CT-20200101-ABCDEF'"),
        (["receive", "CT-20200101-ABCDEF-R1"], "No return CT-20200101-ABCDEF-R1"),
        (["show", "NOPE"], "No return NOPE"),
    ],
)
def test_unknown_orders_and_returns_are_one_line_errors(
    shop: Shop, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(shop, capsys, *args)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1


def test_bad_lines_and_dates_are_usage_errors(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    _, number = bought(shop, [("BOL-BLEU", 1)])
    code, _, err = run(shop, capsys, "open", number, "--lines", "TASSE:1")
    assert code == 1 and "has no TASSE" in err
    for bad, message in (
        (["--lines", "BOL-BLEU:x"], "is not SKU:QTY"),
        (["--delivered", "14/09/2026"], "is not a date such as"),
    ):
        code, _, err = run(shop, capsys, "open", number, *bad)
        assert code == 1 and message in err
    assert shop.stack.store.list_returns() == []


def orders_cli(shop: Shop, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code = main(["orders", *args, "--shop", str(shop.root), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def refunded_by_stripe(shop: Shop) -> int:
    """What the charges' refunds add up to, as the emulator's last events say."""
    emulator = shop.stack.emulator
    assert emulator is not None and emulator.webhooks.wait_until_idle(20)
    return max(
        (int(e["data"]["object"]["amount_refunded"]) for e in emulator.events("charge.refunded")),
        default=0,
    )


def test_a_return_after_a_refund_pays_back_only_what_is_left(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    session_id, number = bought(shop, [("BOL-BLEU", 2)])
    order = shop.stack.store.get_order(session_id)
    assert order is not None
    [line] = order.priced.lines
    gesture = orders_cli(shop, capsys, "refund", number, "--amount", "10.00")
    assert gesture["refund"]["amount"]["amount"] == 1000
    wait_for(lambda: order_status(shop, session_id) == "partially_refunded")

    rid = as_json(shop, capsys, "open", number)["rid"]  # the whole order comes back
    owed = line.total.amount + order.priced.delivery.price.amount
    assert owed == order.total.amount
    received = as_json(shop, capsys, "receive", rid)
    assert received["refund_amount"]["amount"] == order.total.amount - 1000
    assert "reduced from" in received["history"][-1]["note"]
    assert "already refunded or being refunded" in received["history"][-1]["note"]
    assert as_json(shop, capsys, "receive", rid) == received  # twice: refunded once
    code, out, _ = run(shop, capsys, "show", rid)
    assert code == 0 and "reduced from" in out
    wait_for(lambda: order_status(shop, session_id) == "refunded")
    assert refunded_by_stripe(shop) == order.total.amount  # never more than was paid
    stored = shop.stack.store.get_order(session_id)
    assert stored is not None and stored.refunded() == order.total


def test_a_refund_after_a_return_pays_back_only_what_is_left(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    session_id, number = bought(shop, [("BOL-BLEU", 2)])
    order = shop.stack.store.get_order(session_id)
    assert order is not None
    [line] = order.priced.lines
    rid = as_json(shop, capsys, "open", number, "--lines", "BOL-BLEU:1")["rid"]
    received = as_json(shop, capsys, "receive", rid)
    returned = received["refund_amount"]["amount"]
    assert returned == line.total.amount // 2
    # At once, before Stripe's event for the return's refund has come: the rest only.
    rest = orders_cli(shop, capsys, "refund", number)
    assert rest["refund"]["amount"]["amount"] == order.total.amount - returned
    again = orders_cli(shop, capsys, "refund", number)
    assert again["repeated"] is True
    wait_for(lambda: order_status(shop, session_id) == "refunded")
    assert refunded_by_stripe(shop) == order.total.amount
