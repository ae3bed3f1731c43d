"""The withdrawal function (POST /api/withdrawals, then /confirm): it works with JSON and
with a plain form, acknowledges on a durable medium, opens the return, alerts the
merchant, and reveals nothing to someone who does not know an order's number and e-mail.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from functions.app import create_app
from functions.mailers import OutboxMailer
from functions.sqlite_store import SQLiteStore
from shop.orders import OrderStatus
from shop.returns import ReturnSource, ReturnStatus
from tests.apishop import api_settings, built_shop
from tests.mailer_contract import body
from tests.store_contract import make_order

ORIGIN = "http://127.0.0.1:9"
PLACED = dt.datetime(2026, 9, 14, 8, 32, tzinfo=dt.UTC)
NUMBER = "CT-20260914-3FA2B1"
EMAIL = "lea@example.fr"


@dataclass
class Clock:
    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Site:
    client: TestClient
    store: SQLiteStore
    clock: Clock
    outbox: Path

    def mails(self) -> list[EmailMessage]:
        return [
            message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(self.outbox.glob("*.eml"))
        ]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_shop(tmp_path_factory.mktemp("withdrawals"))


@pytest.fixture
def site(shop: Path, tmp_path: Path) -> Iterator[Site]:
    settings = api_settings(shop, "http://127.0.0.1:9/_stripe", ORIGIN)
    store = SQLiteStore(tmp_path / "store.sqlite3")
    clock = Clock(PLACED + dt.timedelta(days=5))
    order = replace(make_order("cs_test_a1B2c3", created_at=PLACED), number=NUMBER, email=EMAIL)
    store.create_order(order)
    app = create_app(settings, store, OutboxMailer(tmp_path / "outbox"), clock=clock)
    with TestClient(app, base_url=ORIGIN, raise_server_exceptions=False) as client:
        yield Site(client, store, clock, tmp_path / "outbox")
    store.close()


def declaration(**changes: str) -> dict[str, str]:
    return {
        "name": "Léa Dupont",
        "number": NUMBER,
        "email": EMAIL,
        "address": "12 rue des Écoles\n75005 Paris",
        "lang": "fr",
        **changes,
    }


def post(site: Site, path: str, data: Any, **headers: str) -> Any:
    return site.client.post(
        path,
        content=json.dumps(data),
        headers={"content-type": "application/json", "origin": ORIGIN, **headers},
    )


def form(site: Site, path: str, data: dict[str, str]) -> Any:
    return site.client.post(path, data=data, headers={"origin": ORIGIN}, follow_redirects=False)


def token_of(site: Site, **changes: str) -> str:
    response = post(site, "/withdrawals", declaration(**changes))
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


# -- the shopper's way through ----------------------------------------------------------------


def test_withdrawal_in_two_steps_records_the_return_and_mails_both(site: Site) -> None:
    first = post(site, "/withdrawals", declaration(number=NUMBER.lower(), email=" LEA@example.fr"))
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    found = first.json()
    assert found["order"] == {
        "number": NUMBER,
        "lines": [{"title": "Thé vert « Sencha »", "quantity": 2}],
    }
    assert site.store.list_returns() == []  # nothing until confirmed

    site.clock.now += dt.timedelta(minutes=3)
    confirmed = post(site, "/withdrawals/confirm", {"token": found["token"]})
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["return"] == f"{NUMBER}-W" and confirmed.json()["recorded"] is True

    [ret] = site.store.list_returns()
    assert ret.source == ReturnSource.WITHDRAWAL and ret.status == ReturnStatus.REQUESTED
    assert (ret.contact_name, ret.contact_address) == (
        "Léa Dupont",
        "12 rue des Écoles\n75005 Paris",
    )
    assert [(x.sku, x.quantity) for x in ret.lines] == [("THE-VERT", 2)]
    assert ret.created_at == site.clock.now

    mails = {m["To"].addresses[0].addr_spec: m for m in site.mails()}
    acknowledgement, alert = mails[EMAIL], mails["commandes@mini.example"]
    assert acknowledgement["Subject"] == f"Votre rétractation de la commande {NUMBER}"
    for part in (body(acknowledgement, "plain"), body(acknowledgement, "html")):
        for shown in (
            "Déclarée le 19 septembre 2026 à 10:35:00",  # date and time, Paris time
            "Je vous notifie par la présente ma rétractation",
            "2 × Thé vert « Sencha »",
            f"Numéro de commande : {NUMBER}",
            "75005 Paris",
        ):
            assert shown.replace(" :", "\xa0:") in part or shown in part, shown
    assert alert["To"].addresses[0].addr_spec == "commandes@mini.example"
    assert alert["Subject"] == f"Rétractation de la commande {NUMBER}"
    assert f"comptoir returns receive {NUMBER}-W" in body(alert, "plain")


def test_a_replayed_confirmation_creates_nothing_new(site: Site) -> None:
    token = token_of(site)
    assert post(site, "/withdrawals/confirm", {"token": token}).status_code == 201
    mails = site.mails()
    for _ in range(3):
        again = post(site, "/withdrawals/confirm", {"token": token})
        assert again.status_code == 200 and again.json()["recorded"] is False
    # A fresh declaration of the same order answers the same withdrawal too.
    assert post(site, "/withdrawals/confirm", {"token": token_of(site)}).status_code == 200
    assert len(site.store.list_returns()) == 1
    assert len(site.mails()) == len(mails) == 2


def test_without_javascript_the_form_gets_pages_and_a_redirect(site: Site) -> None:
    step2 = form(site, "/withdrawals", declaration())
    assert step2.status_code == 200 and step2.headers["content-type"].startswith("text/html")
    page = step2.text
    assert '<html lang="fr">' in page and "Confirmer la rétractation" in page
    assert NUMBER in page and "<script" not in page and "style" not in page
    token = page.split('name="token" value="', 1)[1].split('"', 1)[0]
    done = form(site, "/withdrawals/confirm", {"token": token, "lang": "fr"})
    assert done.status_code == 303
    assert done.headers["location"] == ORIGIN + "/retractation/confirmee/"
    assert len(site.store.list_returns()) == 1

    refused = form(site, "/withdrawals", declaration(email="autre@example.fr"))
    assert refused.status_code == 404 and "Aucune commande ne correspond" in refused.text


# -- hostile requests ---------------------------------------------------------------------


def test_unknown_number_and_wrong_email_get_the_same_answer(site: Site) -> None:
    answers = [
        post(site, "/withdrawals", declaration(number="CT-20260914-000000")),
        post(site, "/withdrawals", declaration(email="marie@example.fr")),
        post(site, "/withdrawals", declaration(number="CT-20260915-3FA2B1", email="x@y.fr")),
        post(site, "/withdrawals", declaration(number="not a number!")),
    ]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1
    assert answers[0].json()["error"]["code"] == "order_not_found"
    assert NUMBER not in answers[1].text and "Léa" not in answers[1].text


def test_enumeration_is_rate_limited_per_order_and_per_client(site: Site) -> None:
    codes = [
        post(site, "/withdrawals", declaration(email=f"guess{i}@example.fr")).status_code
        for i in range(7)
    ]
    assert codes == [404] * 5 + [429] * 2
    # The right pair is refused too while the number is locked: guessing gains nothing.
    assert post(site, "/withdrawals", declaration()).status_code == 429
    numbers = [
        post(site, "/withdrawals", declaration(number=f"CT-20260914-{i:06X}")).status_code
        for i in range(40)
    ]
    assert 429 in numbers and numbers.index(429) <= 30  # per client, whatever the number
    assert site.store.list_returns() == []


def test_forged_tampered_and_expired_tokens_are_refused(site: Site) -> None:
    token = token_of(site)
    payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    other = base64.urlsafe_b64encode(json.dumps({**data, "s": "cs_test_other"}).encode())
    for forged in (
        other.decode().rstrip("=") + "." + signature,  # someone else's order
        payload + "." + signature[:-2] + "AA",
        payload,
        "",
        "x" * 5000,
    ):
        refused = post(site, "/withdrawals/confirm", {"token": forged})
        assert refused.status_code == 400, forged
        assert refused.json()["error"]["code"] == "invalid_token"
    site.clock.now += dt.timedelta(minutes=31)
    expired = post(site, "/withdrawals/confirm", {"token": token})
    assert expired.status_code == 410 and expired.json()["error"]["code"] == "token_expired"
    assert site.store.list_returns() == [] and site.mails() == []


def test_after_the_deadline_the_withdrawal_is_refused_with_the_date(site: Site) -> None:
    site.clock.now = PLACED + dt.timedelta(days=30)
    refused = post(site, "/withdrawals", declaration())
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "withdrawal_period_over" and "2026-10-01" in error["message"]
    assert site.store.list_returns() == []


def test_an_order_that_cannot_come_back_is_refused_after_the_match(site: Site) -> None:
    site.store.set_order_status("cs_test_a1B2c3", OrderStatus.CANCELLED, "test", site.clock.now)
    refused = post(site, "/withdrawals", declaration())
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "order_not_returnable"


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (declaration(name=""), 400, "invalid_name"),
        (declaration(address="a" * 1001), 400, "invalid_address"),
        (declaration(name="Léa\x00"), 400, "invalid_name"),
        ({**declaration(), "status": "refunded"}, 400, "unknown_field"),
        ({**declaration(), "number": 12}, 400, "invalid_body"),
        ([declaration()], 400, "invalid_body"),
    ],
)
def test_malformed_declarations_are_refused(site: Site, data: Any, status: int, code: str) -> None:
    response = post(site, "/withdrawals", data)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


def test_wrong_media_origin_and_size_are_refused(site: Site) -> None:
    plain = site.client.post(
        "/withdrawals", content=b"name=x", headers={"content-type": "text/plain", "origin": ORIGIN}
    )
    assert plain.status_code == 415
    foreign = post(site, "/withdrawals", declaration(), origin="https://evil.example")
    assert foreign.status_code == 403
    huge = post(site, "/withdrawals", declaration(address="a" * 20_000))
    assert huge.status_code == 413
    # A name holding form syntax is a name: encoded, it injects no field.
    assert form(site, "/withdrawals", {**declaration(), "name": "x&name=y"}).status_code == 200
    twice = site.client.post(
        "/withdrawals",
        content=b"name=a&name=b&number=x&email=y&address=z",
        headers={"content-type": "application/x-www-form-urlencoded", "origin": ORIGIN},
    )
    assert twice.status_code == 400 and "<html" in twice.text
    assert site.store.list_returns() == []
