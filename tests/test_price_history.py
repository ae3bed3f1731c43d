"""EU Omnibus price history: a reduction shows the lowest price of the 30 days before it,
and `check` refuses a former price never charged then. Scratch git repositories with
dated commits, full and shallow clones; through the command line."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from comptoir.cli import main
from shop.money import parse_money
from shop.price_history import PriceChange, histories, parse_ledger, reduction
from shop.problems import Problems

MINI = Path(__file__).parent / "fixtures" / "mini"
TODAY = dt.date.today()
POT = "---\ntitle: Pot\nsku: POT\nprice: {price}\n{was}category: Céramiques\n---\nUn pot.\n"


def pot(price: str, was: str | None = None) -> str:
    return POT.format(price=price, was=f"compare_at_price: {was}\n" if was else "")


def git(repo: Path, *args: str, days_ago: int = 0) -> str:
    stamp = f"{TODAY - dt.timedelta(days=days_ago)}T12:00:00+01:00"
    environ = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, "PATH": _path()}
    done = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=t@example.org", *args],
        cwd=repo,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _path() -> str:
    import os

    return os.environ.get("PATH", "")


def commit(repo: Path, days_ago: int, price: str, was: str | None = None) -> None:
    (repo / "content" / "products" / "pot.md").write_text(pot(price, was), encoding="utf-8")
    git(repo, "add", "-A", days_ago=days_ago)
    git(repo, "commit", "-q", "-m", f"pot at {price}", days_ago=days_ago)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The mini shop in a new git repository, the pot sold at 20.00 for 60 days."""
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    (shop / ".gitignore").write_text("/.cache/\n/output/\n/published/\n")
    git(shop, "init", "-q", "-b", "main")
    commit(shop, 60, "20")
    return shop


def check(shop: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["check", "--shop", str(shop)])
    err = capsys.readouterr().err.splitlines()
    return code, [line for line in err if ": warning: " not in line]


def page(shop: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["build", "--shop", str(shop)]) == 0
    capsys.readouterr()
    return (shop / "output" / "products" / "pot" / "index.html").read_text(encoding="utf-8")


def test_an_honest_reduction_shows_the_lowest_price_of_the_30_days_before(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, 20, "25")  # raised 20 days ago...
    commit(repo, 5, "15", "25")  # ...then reduced: 20.00 was charged 30 days before
    assert check(repo, capsys) == (0, [])
    html = page(repo, capsys)
    assert "<s data-compare-display>25,00\xa0€</s>" in html
    assert (
        "Prix le plus bas des 30 derniers jours\xa0: <span data-lowest-display>20,00\xa0€" in html
    )
    ledger = (repo / "content" / "prices.ledger").read_text(encoding="utf-8")
    assert f"{TODAY - dt.timedelta(days=60)}  POT  20.00\n" in ledger
    assert f"{TODAY - dt.timedelta(days=5)}  POT  15.00  was 25.00\n" in ledger


def test_a_former_price_never_charged_is_an_error_at_its_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, 10, "15", "25")
    started = TODAY - dt.timedelta(days=10)
    assert check(repo, capsys) == (
        1,
        [
            "content/products/pot.md:5: 'compare_at_price' 25.00 of POT was never charged in "
            f"the 30 days before this reduction started ({started}): the lowest price then was "
            "20.00. Write compare_at_price: 20.00, or remove it (EU rule: the former price "
            "shown is the lowest of those 30 days)",
            "1 problem found; nothing was written.",
        ],
    )


def test_a_price_changed_but_not_committed_counts_from_today(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "content" / "products" / "pot.md").write_text(pot("15", "30"), encoding="utf-8")
    code, lines = check(repo, capsys)
    assert code == 1
    assert f"this reduction started ({TODAY}): the lowest price then was 20.00." in lines[0]
    (repo / "content" / "products" / "pot.md").write_text(pot("15", "20"), encoding="utf-8")
    assert check(repo, capsys) == (0, [])
    ledger = (repo / "content" / "prices.ledger").read_text(encoding="utf-8")
    assert "POT  15.00" not in ledger  # the ledger records what was committed only


def test_a_new_product_cannot_start_reduced(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "content" / "products" / "jarre.md").write_text(
        pot("30", "45").replace("sku: POT", "sku: JARRE"), encoding="utf-8"
    )
    git(repo, "add", "-A", days_ago=3)
    git(repo, "commit", "-q", "-m", "jarre", days_ago=3)
    code, lines = check(repo, capsys)
    assert code == 1
    assert lines[0].startswith(
        "content/products/jarre.md:5: 'compare_at_price' 45.00 of JARRE was never charged: "
        "nothing was sold in the 30 days before this reduction started"
    )


def test_a_shallow_clone_reads_the_committed_ledger(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(repo, 10, "15", "20")
    bare = tmp_path / "without-ledger"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(bare))
    # One commit deep, without a ledger: the reduction seems to start with the only commit.
    code, lines = check(bare, capsys)
    assert code == 1
    assert "of POT was never charged: nothing was sold in the 30 days before" in lines[0]

    assert check(repo, capsys) == (0, [])  # the full history writes the ledger...
    git(repo, "add", "content/prices.ledger", days_ago=1)
    git(repo, "commit", "-q", "-m", "prices ledger", days_ago=1)  # ...which is committed
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"
    before = (clone / "content" / "prices.ledger").read_text(encoding="utf-8")
    assert check(clone, capsys) == (0, [])
    assert (clone / "content" / "prices.ledger").read_text(encoding="utf-8") == before
    assert (
        "Prix le plus bas des 30 derniers jours\xa0: <span data-lowest-display>20,00\xa0€"
        in page(clone, capsys)
    )


def test_without_git_the_ledger_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))
    assert check(shop, capsys) == (0, [])  # the mini ledger: 29.00, then 24.90 was 29.00
    ledger = shop / "content" / "prices.ledger"
    ledger.write_text(
        "2026-09-01  BOL-BLEU  27\nle 3 mai  BOL  3\n2026-13-01  BOL  3\n", encoding="utf-8"
    )
    assert check(shop, capsys)[1][:3] == [
        "content/prices.ledger:2: cannot read this line: write DATE  SKU  PRICE, such as "
        "2026-11-02  THE-SENCHA  12.45, and '  was 15.00' after a reduced price",
        "content/prices.ledger:3: '2026-13-01' is not a date: write it as 2026-11-02",
        f"content/products/bol.md:5: 'compare_at_price' 29.00 of BOL-BLEU was never charged "
        f"in the 30 days before this reduction started ({TODAY}): the lowest price then was "
        "27.00. Write compare_at_price: 27.00, or remove it (EU rule: the former price shown "
        "is the lowest of those 30 days)",
    ]


def test_a_reduction_deepened_in_steps_keeps_its_start() -> None:
    def change(days: int, price: str, was: str | None = None) -> PriceChange:
        money = parse_money(price, "EUR")
        return PriceChange(
            TODAY - dt.timedelta(days=days), "X", money, parse_money(was, "EUR") if was else None
        )

    history = histories(
        [change(90, "12"), change(40, "10"), change(20, "9", "12"), change(5, "8", "12")]
    )["X"]
    found = reduction(history)
    assert found is not None
    assert found.started == TODAY - dt.timedelta(days=20)
    assert (found.lowest, found.highest) == (parse_money("10", "EUR"), parse_money("12", "EUR"))
    assert parse_ledger("# only a comment\n\n", "EUR", Problems()) == []
