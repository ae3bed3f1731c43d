"""``comptoir stock`` and ``comptoir stock set``, through the command line, on a built shop
whose functions have synced its counts (a dated one among them)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from comptoir.backroom import open_backroom
from comptoir.cli import main
from functions.app import stock_levels
from generator.build import build

MINI = Path(__file__).parent / "fixtures" / "mini"
COUNTED = dt.datetime(2026, 2, 28, 23, 0, tzinfo=dt.UTC)  # 2026-03-01 at midnight in Paris


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The mini shop, BOL-BLEU counted 3 on 2026-03-01, one sold since, one held."""
    for name in ("COMPTOIR_STORE", "STRIPE_SECRET_KEY", "COMPTOIR_PUBLISHED"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "shop"
    shutil.copytree(MINI, root)
    config = root / "content" / "shop.yaml"
    config.write_text(config.read_text() + "stock:\n  low_threshold: 1\n")
    bol = root / "content" / "products" / "bol.md"
    bol.write_text(bol.read_text().replace("stock: 3\n", "stock: 3\nstock_counted: 2026-03-01\n"))
    build(root)
    room = open_backroom(root, {})
    room.store.sync_stock(stock_levels(room.shop()))  # as the functions do when they start
    sold_at = COUNTED + dt.timedelta(hours=10)
    room.store.reserve("sold", {"BOL-BLEU": 1}, sold_at + dt.timedelta(minutes=30), sold_at)
    room.store.commit_reservation("sold", sold_at)
    far = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    room.store.reserve("cs_test_held", {"BOL-BLEU": 1}, far, dt.datetime.now(dt.UTC))
    room.store.close()
    return root


def test_stock_lists_counts_sales_holds_and_low_stock(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stock", "--shop", str(shop), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    levels = {level["sku"]: level for level in report["levels"]}
    bol = levels["BOL-BLEU"]
    assert (bol["count"], bol["counted_at"], bol["sold"], bol["held"]) == (
        3,
        COUNTED.isoformat(),
        1,
        1,
    )
    assert (bol["available"], bol["low"]) == (1, True)
    assert [h["key"] for h in bol["holds"]] == ["cs_test_held"]
    assert levels["TASSE"]["counted_at"] is None and report["low_threshold"] == 1
    assert main(["stock", "--shop", str(shop)]) == 0
    table = capsys.readouterr().out
    assert "BOL-BLEU" in table and "2026-02-28 23:00 UTC" in table
    assert "cs_test_held" in table and "Low stock (at or below 1):" in table


def test_stock_set_corrects_at_once_and_keeps_the_reason(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["stock", "set", "BOL-BLEU", "6", "--reason", "livraison reçue", "--shop", str(shop)]
    assert main(args) == 0
    assert "BOL-BLEU: 6 on the shelf (was 1 available) — livraison reçue" in capsys.readouterr().out
    room = open_backroom(shop, {})
    try:
        now = dt.datetime.now(dt.UTC)
        assert room.store.available(["BOL-BLEU"], now) == {"BOL-BLEU": 5}  # the hold counts
        [adjustment] = room.store.stock_adjustments()
        assert (adjustment.sku, adjustment.count, adjustment.reason) == (
            "BOL-BLEU",
            6,
            "livraison reçue",
        )
        room.store.sync_stock(stock_levels(room.shop()))  # the functions start again
        assert room.store.available(["BOL-BLEU"], now) == {"BOL-BLEU": 5}  # an older count
    finally:
        room.store.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["VASE", "2", "--reason", "x"], "VASE has no tracked stock"),
        (["BOL-BLEU", "-1", "--reason", "x"], "The count must be 0 or more, not -1."),
        (["BOL-BLEU", "2", "--reason", " "], "Say why with --reason"),
    ],
)
def test_stock_set_refuses_a_merchants_mistake_in_one_line(
    shop: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["stock", "set", *args, "--shop", str(shop)]) == 1
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
