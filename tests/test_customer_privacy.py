"""`comptoir customers export|forget|purge` through the command line, on SQLite.

The forget test: after `forget`, the person's e-mail, name and address are nowhere in the
store's file (its bytes, not only its rows), in the outbox folder's .eml files, nor in
what `orders list|show --json` and `customers export` print; the invoice still carries
them, as issued. (No phone number is collected at checkout, so none is held.)
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from comptoir.cli import main
from functions.backroom.invoices import issue_invoice
from functions.backroom.privacy import cutoff_before
from functions.mailers import OutboxMailer
from functions.outbox import deliver_due, queue_order_emails
from functions.settings import PublishedShopFile
from functions.sqlite_store import SQLiteStore
from functions.store import Checkout, pseudonym_for
from functions.webhooks import order_number
from generator.build import build
from shop.orders import Address, Order, OrderEvent, OrderStatus
from shop.published import published_path
from shop.returns import ReturnEvent, ReturnLine, ReturnRequest, ReturnSource, ReturnStatus
from tests.apishop import MINI
from tests.test_orders_commands import priced

EMAIL = "Zephyrine.Quatremare@Example.fr"
NAME = "Zéphyrine Quatremare"
STREET = "17 rue des Tilleuls-Oubliés"
CITY = "Plouarzel-les-Grèves"
# What must be gone, in lower case (the address is filed in lower case, shown as typed).
PERSONAL = (EMAIL.lower(), NAME.lower(), STREET.lower(), CITY.lower())
AT = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("privacy") / "shop"
    shutil.copytree(MINI, root)
    build(root)
    return root


@pytest.fixture
def shop(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COMPTOIR_STORE", str(tmp_path / "store.sqlite3"))
    monkeypatch.setenv("COMPTOIR_OUTBOX", str(tmp_path / "outbox"))
    return built


@pytest.fixture
def store(tmp_path: Path, shop: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "store.sqlite3") as opened:
        opened.sync_stock({"BOL-BLEU": 10, "THE-SENCHA-50": 10})
        yield opened


def run(shop: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--shop", str(shop)])
    out, err = capsys.readouterr()
    return code, out, err


def customer_buys(
    store: SQLiteStore, shop: Path, outbox: Path, session_id: str, email: str, at: dt.datetime
) -> Order:
    her = email == EMAIL
    name = NAME if her else "Max Martin"
    street, city = (STREET, CITY) if her else ("1 place du Marché", "Lyon")
    """What the payment webhook leaves: checkout, sale, order, customer, invoice, and the
    confirmation and merchant's notice queued, then delivered to the outbox folder."""
    hold = f"hold-{session_id}"
    content = priced()
    store.save_checkout(Checkout(session_id, hold, at, at + dt.timedelta(hours=1), content, "c0"))
    store.reserve(hold, {"BOL-BLEU": 2, "THE-SENCHA-50": 1}, at + dt.timedelta(hours=1), at)
    store.commit_reservation(hold, at)
    order = Order(
        session_id=session_id,
        number=order_number(session_id, at),
        status=OrderStatus.PAID,
        created_at=at,
        email=email,
        customer_name=name,
        language="fr",
        priced=content,
        shipping_address=Address(name, street, "Bâtiment B", "29810", city, "FR"),
        marketing_consent=True,
        history=(OrderEvent(at, OrderStatus.PAID, "stripe checkout.session.completed evt_1"),),
    )
    assert store.create_order(order)
    store.record_customer(email, name, True, at)
    published = PublishedShopFile(published_path(shop)).current()
    issue_invoice(store, published, order, at)
    queue_order_emails(store, order, published, at)
    deliver_due(store, OutboxMailer(outbox), at, shop=published, limit=100)
    return order


def withdraw(store: SQLiteStore, order: Order) -> ReturnRequest:
    ret = ReturnRequest(
        rid=f"{order.number}-W",
        session_id=order.session_id,
        order_number=order.number,
        source=ReturnSource.WITHDRAWAL,
        status=ReturnStatus.REFUNDED,
        created_at=order.created_at + dt.timedelta(days=3),
        lines=(ReturnLine("BOL-BLEU", "Bol bleu", 1),),
        delivered_on=order.created_at.date(),
        request_deadline=order.created_at.date() + dt.timedelta(days=14),
        contact_name=NAME,
        contact_address=f"{STREET}\n29810 {CITY}",
        history=(ReturnEvent(order.created_at, ReturnStatus.REQUESTED, "withdrawal"),),
    )
    assert store.create_return(ret)
    return ret


def found_in(text: str) -> list[str]:
    lowered = text.lower()
    return [needle for needle in PERSONAL if needle in lowered]


def eml_text(path: Path) -> str:
    """A .eml file as bytes and as decoded text (bodies may be base64 or quoted-printable)."""
    raw = path.read_bytes()
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    parts = [str(p.get_content()) for p in message.walk() if p.get_content_maintype() == "text"]
    return raw.decode("utf-8", "replace") + "\n".join(parts) + str(message.get("To"))


def file_bytes(path: Path) -> str:
    """The store's files (database and WAL) as text: every byte, rows deleted or not."""
    files = [path, path.with_name(path.name + "-wal")]
    return "".join(f.read_bytes().decode("utf-8", "replace") for f in files if f.exists())


def test_export_forget_and_nothing_left(
    shop: Path, store: SQLiteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = tmp_path / "outbox"
    order = customer_buys(store, shop, outbox, "cs_test_zq", EMAIL, AT)
    withdraw(store, order)
    other = customer_buys(store, shop, outbox, "cs_test_other", "max@example.fr", AT)

    # Export: everything held on her, whatever the case of the address given.
    code, out, err = run(shop, capsys, "customers", "export", EMAIL.upper())
    assert (code, err) == (0, "")
    exported = json.loads(out)
    assert exported["email"] == EMAIL.lower()
    assert exported["customer"]["name"] == NAME and exported["customer"]["marketing_consent"]
    assert [o["session_id"] for o in exported["orders"]] == ["cs_test_zq"]
    assert exported["orders"][0]["shipping_address"]["line1"] == STREET
    assert [r["rid"] for r in exported["returns"]] == [f"{order.number}-W"]
    assert [d["key"] for d in exported["documents"]] == ["invoice:cs_test_zq"]
    assert {m["key"] for m in exported["mails"]} == {
        "confirmation:cs_test_zq",
        "merchant:cs_test_zq",
    }
    assert all(m["subject"] and m["sent_at"] for m in exported["mails"])
    written = tmp_path / "export.json"
    code, out, _ = run(shop, capsys, "customers", "export", EMAIL, "-o", str(written))
    assert code == 0 and json.loads(written.read_text())["email"] == EMAIL.lower()
    assert written.stat().st_mode & 0o077 == 0  # personal data: the owner's only

    # Before: she is in the store's file and in the outbox folder (the test can fail).
    assert found_in(file_bytes(store.path)) == list(PERSONAL)
    mine = [p for p in outbox.glob("*.eml") if found_in(eml_text(p))]
    assert len(mine) == 2

    # Her order is still to ship: not forgotten unless forced.
    code, out, err = run(shop, capsys, "customers", "forget", EMAIL)
    assert code == 1 and out == "" and "still to deliver" in err and order.number in err
    assert len(err.splitlines()) == 1
    store.set_order_status(order.session_id, OrderStatus.FULFILLED, "shipped", AT)

    code, out, err = run(shop, capsys, "customers", "forget", EMAIL, "--json")
    assert (code, err) == (0, "")
    done = json.loads(out)
    pseudonym = pseudonym_for(EMAIL)
    assert done["pseudonym"] == pseudonym and pseudonym == pseudonym_for(EMAIL.lower())
    assert (done["customer_deleted"], done["orders"], done["returns"], done["mails"]) == (
        True,
        1,
        1,
        2,
    )
    assert sorted(done["files"]) == sorted(p.name for p in mine)
    assert done["kept_documents"] == ["invoice:cs_test_zq"]

    # Nowhere in the store: its rows (documents apart) and every byte of its files, except
    # the invoice, kept as issued.
    with sqlite3.connect(store.path) as raw:
        dump = "\n".join(
            line for line in raw.iterdump() if not line.startswith('INSERT INTO "documents"')
        )
        documents = "".join(body for (body,) in raw.execute("SELECT body FROM documents"))
    assert found_in(dump) == []
    in_file = file_bytes(store.path).lower()
    for needle in PERSONAL:
        assert in_file.count(needle) == documents.lower().count(needle), needle
    assert found_in(documents) == list(PERSONAL)  # her invoice, as issued
    # Nowhere in the outbox folder.
    assert [p.name for p in outbox.glob("*.eml") if found_in(eml_text(p))] == []
    assert any("max@example.fr" in eml_text(p) for p in outbox.glob("*.eml"))  # Max's stay
    # Nowhere in what the commands print.
    for args in (("orders", "list", "--json"), ("orders", "show", order.number, "--json")):
        code, out, err = run(shop, capsys, *args)
        assert code == 0 and found_in(out) == [], args
    code, out, err = run(shop, capsys, "customers", "export", EMAIL)
    after = json.loads(out)
    assert (after["customer"], after["orders"], after["returns"], after["mails"]) == (
        None,
        [],
        [],
        [],
    )
    assert found_in(out) == [EMAIL.lower()]  # only the address asked about, echoed
    forgotten = store.get_order(order.session_id)
    assert forgotten is not None and forgotten.email == pseudonym
    assert forgotten.total == order.total and forgotten.priced == order.priced
    # The invoice still carries what the law requires: the buyer as invoiced.
    code, out, _ = run(shop, capsys, "invoices", "list", "--json", "--year", "2026")
    invoices = {entry["session_id"]: entry for entry in json.loads(out)}
    assert invoices["cs_test_zq"]["customer"] == {"name": NAME, "email": EMAIL}
    # Max is untouched.
    assert store.get_order(other.session_id) == other
    assert store.get_customer("max@example.fr") is not None

    # Again: nothing left to do, and said so.
    code, out, err = run(shop, capsys, "customers", "forget", EMAIL)
    assert (code, err) == (0, "") and "Nothing held" in out and pseudonym in out


def test_forget_and_export_refuse_what_is_no_address(
    shop: Path, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("forget", "export"):
        code, out, err = run(shop, capsys, "customers", command, "not-an-address")
        assert code == 1 and out == "" and "is not an e-mail address" in err
        assert len(err.splitlines()) == 1


def test_purge_forgets_people_not_seen_since_the_cutoff(
    shop: Path, store: SQLiteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = tmp_path / "outbox"
    now = dt.datetime.now(dt.UTC)
    old = customer_buys(store, shop, outbox, "cs_test_old", EMAIL, now - dt.timedelta(days=1200))
    store.set_order_status(old.session_id, OrderStatus.FULFILLED, "shipped", old.created_at)
    recent = customer_buys(store, shop, outbox, "cs_test_new", "max@example.fr", now)
    # A prospect: consent given long ago, never bought.
    store.record_customer("prospect@example.fr", "", True, now - dt.timedelta(days=1500))

    code, out, err = run(shop, capsys, "customers", "purge", "--older-than", "3y", "--dry-run")
    assert (code, err) == (0, "")
    assert "prospect@example.fr" in out and EMAIL.lower() in out and "max@" not in out
    assert store.get_customer(EMAIL) is not None  # a dry run changes nothing

    code, out, err = run(shop, capsys, "customers", "purge", "--older-than", "3y", "--json")
    assert code == 0
    result = json.loads(out)
    assert (result["people"], result["forgotten"], result["skipped"]) == (2, 2, [])
    assert err.splitlines() == ["forgetting: 1/2", "forgetting: 2/2"]  # progress
    assert store.get_customer(EMAIL) is None and store.get_customer("prospect@example.fr") is None
    forgotten = store.get_order(old.session_id)
    assert forgotten is not None and forgotten.email == pseudonym_for(EMAIL)
    assert store.get_order(recent.session_id) == recent
    assert [p.name for p in outbox.glob("*.eml") if found_in(eml_text(p))] == []

    # Nobody left to purge; a wrong age is one line.
    code, out, _ = run(shop, capsys, "customers", "purge", "--older-than", "3y", "--json")
    assert code == 0 and json.loads(out)["people"] == 0
    code, out, err = run(shop, capsys, "customers", "purge", "--older-than", "3 ans")
    assert code == 1 and "is not an age such as 3y" in err and len(err.splitlines()) == 1


def test_cutoff_before_counts_calendar_years_and_months() -> None:
    leap = dt.datetime(2028, 2, 29, 12, 0, tzinfo=dt.UTC)
    assert cutoff_before(leap, "3y") == dt.datetime(2025, 2, 28, 12, 0, tzinfo=dt.UTC)
    assert cutoff_before(leap, "18m") == dt.datetime(2026, 8, 29, 12, 0, tzinfo=dt.UTC)
    assert cutoff_before(leap, "2w") == leap - dt.timedelta(days=14)
    assert cutoff_before(leap, "90D") == leap - dt.timedelta(days=90)
    for wrong in ("0y", "3", "y", "-1y", "3x"):
        with pytest.raises(ValueError):
            cutoff_before(leap, wrong)
