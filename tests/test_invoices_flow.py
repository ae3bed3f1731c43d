"""A purchase through the emulator is invoiced, the invoice rides with the confirmation, a
refund gets its credit note, and the merchant fetches both with ``comptoir invoices``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from comptoir.cli import main
from comptoir.local import LocalStack
from functions.payments import StripePayments
from shop.invoices import decode_document
from tests.apishop import built_shop, running_stack
from tests.test_checkout_flow import pay, session_of, wait_for
from tests.test_invoices import pdf_text

YEAR = dt.datetime.now(dt.UTC).year  # of the shop's time zone, but not at New Year in tests


@pytest.fixture(scope="module")
def shop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_shop(tmp_path_factory.mktemp("invoices"))


@pytest.fixture
def stack(shop_root: Path, tmp_path: Path) -> Iterator[tuple[str, LocalStack]]:
    with running_stack(shop_root, tmp_path) as running:
        yield running


def test_an_order_is_invoiced_refunded_and_credited(
    stack: tuple[str, LocalStack],
    shop_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import httpx

    origin, local = stack
    body = {"items": [{"sku": "BOL-BLEU", "quantity": 2}], "country": "FR"}
    response = httpx.post(
        origin + "/api/checkout", json=body, headers={"origin": origin}, timeout=30
    )
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    pay(url)
    session = session_of(url)
    store = local.store
    invoice = wait_for(lambda: store.find_document(f"invoice:{session}"))
    assert (invoice.year, invoice.sequence) == (YEAR, 1)
    order = store.get_order(session)
    assert order is not None
    assert decode_document(invoice.body).gross == order.total

    # The confirmation carries the invoice, the PDF that `invoices get` writes.
    confirmation = wait_for(lambda: _mail(local, "Commande"))
    [attachment] = list(confirmation.iter_attachments())
    assert attachment.get_filename() == f"F-{YEAR}-000001.pdf"
    attached = attachment.get_content()
    monkeypatch.setenv("COMPTOIR_STORE", str(tmp_path / "store.sqlite3"))
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    target = tmp_path / "facture.pdf"
    shop = ["--shop", str(shop_root)]
    assert main(["invoices", "get", f"F-{YEAR}-000001", "-o", str(target), *shop]) == 0
    assert target.read_bytes() == attached  # byte for byte, from the store
    texts = pdf_text(attached)
    assert texts[texts.index("Total TTC") + 1] == order.total.format("fr_FR").replace(
        "\u202f", "\xa0"
    )

    # A partial refund, then the rest: two credit notes in the same sequence.
    checkout = store.get_checkout(session)
    assert checkout is not None and checkout.payment_intent
    payments = StripePayments(local.settings)
    payments.refund(checkout.payment_intent, 1000, f"test-refund-1-{session}")
    wait_for(lambda: store.find_document(f"credit:{session}:1"))
    payments.refund(checkout.payment_intent, order.total.amount - 1000, f"test-refund-2-{session}")
    wait_for(lambda: store.find_document(f"credit:{session}:2"))
    capsys.readouterr()
    assert main(["invoices", "list", "--json", "--year", str(YEAR), *shop]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["number"], d["total"], d["corrects"]) for d in listed] == [
        (f"F-{YEAR}-000001", order.total.amount, None),
        (f"A-{YEAR}-000002", 1000, f"F-{YEAR}-000001"),
        (f"A-{YEAR}-000003", order.total.amount - 1000, f"F-{YEAR}-000001"),
    ]
    assert main(["invoices", "list", "--year", str(YEAR), *shop]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["number", "kind", "date", "order", "customer", "total", "corrects"]
    assert f"A-{YEAR}-000003" in table[-1] and "credit note" in table[-1]
    assert main(["invoices", "get", f"A-{YEAR}-000002", "-o", str(target), *shop]) == 0
    assert "AVOIR" in pdf_text(target.read_bytes())


def test_the_command_explains_what_it_cannot_do(
    shop_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COMPTOIR_STORE", str(tmp_path / "store.sqlite3"))
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    shop = ["--shop", str(shop_root)]
    target = tmp_path / "out.pdf"
    assert main(["invoices", "get", "2026-1", "-o", str(target), *shop]) == 1
    assert "is not a document number: write it as F-2026-000001" in capsys.readouterr().err
    assert main(["invoices", "get", "F-2026-000001", "-o", str(target), *shop]) == 1
    assert capsys.readouterr().err.strip() == "invoices get: No document F-2026-000001."
    assert not target.exists()
    assert main(["invoices", "list", "--json", "--year", "2026", *shop]) == 0
    assert json.loads(capsys.readouterr().out) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["invoices", "list", "--shop", str(empty)]) == 1
    assert "comptoir build" in capsys.readouterr().err


def _mail(local: LocalStack, subject: str) -> EmailMessage | None:
    outbox = local.settings.outbox_dir
    for path in sorted(outbox.glob("*.eml")) if outbox.exists() else []:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        if (
            subject in str(message["Subject"])
            and message["To"].addresses[0].username != "commandes"
        ):
            return message
    return None
