"""SESMailer: the mailer contract against moto's SES (server mode, over HTTP), how it
classes SES's errors, its pacing, and the outbox giving up on what SES refuses.

boto3 finds moto through its standard ``AWS_ENDPOINT_URL``, exactly as it would
find SES: the mailer under test is built the way production builds it. What
moto cannot do (throttle, fail with a 5xx) comes from a small endpoint that
answers every request with SES's own error in its wire format.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from email.headerregistry import Address
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from functions.emails import confirmation_email
from functions.mailer import MailError
from functions.mailers import SESMailer
from functions.outbox import DeliveryReport, deliver_due, queue_order_emails
from functions.sqlite_store import SQLiteStore
from functions.store import OutgoingMail
from shop.published import PublishedShop
from tests.mailer_contract import Backend, MailerContract, body, parse, sample_message
from tests.servers import free_port, serve_app
from tests.test_emails import example_shop, order
from tests.test_outbox import SHORT, due

REGION = "eu-west-3"
NOW = dt.datetime(2026, 9, 14, 8, 40, tzinfo=dt.UTC)
SHOP_SENDER = "commandes@the-et-terre.example"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def point_boto3_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Fake credentials and an endpoint, through boto3's standard variables only."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


class MotoSES:
    """moto's SES state, read and reset over its HTTP API (/moto-api)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def reset(self, *verified: str) -> None:
        request = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        client = boto3.session.Session().client(
            "sesv2",
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for identity in verified:
            client.create_email_identity(EmailIdentity=identity)

    def sent(self) -> list[tuple[str, list[str], bytes]]:
        """(envelope sender, destinations, raw message) of each message SES accepted."""
        with urllib.request.urlopen(self.url + "/moto-api/data.json", timeout=10) as answer:
            data = json.load(answer)
        return [
            (raw["source"], raw["destinations"], raw["raw_data"].encode())
            for raw in data["ses"]["RawMessage"]
        ]


@pytest.fixture
def ses(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> MotoSES:
    point_boto3_at(monkeypatch, moto_url)
    state = MotoSES(moto_url)
    state.reset("orders@shop.example", SHOP_SENDER)
    return state


# What moto cannot do: each path prefix of the failing endpoint answers one SES error.
SES_ERRORS = {
    "throttled": (429, "TooManyRequestsException"),
    "daily-quota-reached": (400, "LimitExceededException"),
    "sending-paused": (400, "SendingPausedException"),
    "ses-unavailable": (503, "ServiceUnavailable"),
    "request-refused": (400, "BadRequestException"),
}


REQUESTS: Counter[str] = Counter()  # requests the failing endpoint answered, by error


async def answer_an_ses_error(request: Request) -> Response:
    what = request.path_params["path"].split("/")[0]
    REQUESTS[what] += 1
    status, code = SES_ERRORS[what]
    return JSONResponse(
        {"message": f"{code} from the test endpoint"},
        status_code=status,
        headers={"x-amzn-ErrorType": code},
    )


@pytest.fixture(scope="module")
def failing_endpoint() -> Iterator[str]:
    app = Starlette(routes=[Route("/{path:path}", answer_an_ses_error, methods=["POST"])])
    with serve_app(app) as url:
        yield url


class EndpointMailer:
    """An SESMailer whose requests go to ``url`` (its client is made at its first send)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_ENDPOINT_URL", self.url)
            SESMailer(REGION, max_rate=None).send(message, sender, recipients)


# -- the contract -----------------------------------------------------------------


class TestSESMailer(MailerContract):
    @pytest.fixture
    def backend(self, ses: MotoSES, failing_endpoint: str) -> Backend:
        stopped = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        transient = ("throttled", "daily-quota-reached", "sending-paused", "ses-unavailable")
        return Backend(
            SESMailer(REGION, max_rate=None),
            lambda: [raw for _, _, raw in ses.sent()],
            failing={
                "endpoint unreachable": EndpointMailer(stopped),
                **{what: EndpointMailer(f"{failing_endpoint}/{what}") for what in transient},
            },
            refusing={
                "sender not verified": UnverifiedSender(SESMailer(REGION, max_rate=None)),
                "request refused": EndpointMailer(f"{failing_endpoint}/request-refused"),
            },
        )


class UnverifiedSender:
    """Sends as an address SES has not verified: SES answers MessageRejected."""

    def __init__(self, mailer: SESMailer) -> None:
        self.mailer = mailer

    def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        self.mailer.send(message, "someone@unverified.example", recipients)


# -- SES specifics ------------------------------------------------------------------


def test_ses_passes_the_envelope(ses: MotoSES) -> None:
    raw = sample_message().as_bytes()
    SESMailer(REGION, max_rate=None).send(raw, "orders@shop.example", ["alice@customer.example"])
    [(sender, destinations, _)] = ses.sent()
    assert sender == "orders@shop.example"
    assert "alice@customer.example" in destinations


def test_an_unverified_sender_is_refused_for_good_with_ses_own_reason(ses: MotoSES) -> None:
    mailer = SESMailer(REGION, max_rate=None)
    with pytest.raises(MailError) as caught:
        mailer.send(sample_message().as_bytes(), "nobody@unverified.example", ["a@b.example"])
    assert caught.value.permanent
    assert str(caught.value).startswith("SES (eu-west-3) refused the message: MessageRejected")
    assert "testing" not in str(caught.value)  # no credentials in what is logged
    assert ses.sent() == []


def test_sends_are_spaced_to_the_max_rate(ses: MotoSES) -> None:
    mailer = SESMailer(REGION, max_rate=5)  # one every 0.2 s
    started = time.monotonic()
    for number in range(4):
        message = sample_message(message_id=f"<rate-{number}@shop.example>").as_bytes()
        mailer.send(message, "orders@shop.example", ["a@customer.example"])
    assert time.monotonic() - started >= 0.6  # the 2nd, 3rd and 4th each waited their turn
    assert len(ses.sent()) == 4


def test_the_client_is_made_at_the_first_send(
    ses: MotoSES, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailer = SESMailer(REGION, max_rate=None)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # not yet read
    with pytest.raises(MailError) as caught:
        mailer.send(sample_message().as_bytes(), "orders@shop.example", ["a@b.example"])
    assert "Could not connect" in str(caught.value) and not caught.value.permanent


def test_mail_url() -> None:
    mailer = SESMailer.from_url("ses://eu-west-3")
    assert (mailer.region, mailer.max_rate) == ("eu-west-3", 1.0)  # the sandbox's rate
    assert SESMailer.from_url("ses://us-east-1?max_rate=14").max_rate == 14
    assert repr(mailer) == "SESMailer('eu-west-3', max_rate=1.0)"
    for wrong in (
        "smtp://eu-west-3",
        "ses://",
        "ses://Paris",
        "ses://eu-west-3/path",
        "ses://eu-west-3?rate=1",
        "ses://eu-west-3?max_rate=fast",
        "ses://eu-west-3?max_rate=0",
    ):
        with pytest.raises(ValueError):
            SESMailer.from_url(wrong)


# -- through the outbox -------------------------------------------------------------


@pytest.fixture(scope="module")
def shop() -> PublishedShop:
    return example_shop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "shop.sqlite3") as opened:
        yield opened


def test_outbox_delivers_order_mail_through_ses(
    ses: MotoSES, shop: PublishedShop, store: SQLiteStore
) -> None:
    queue_order_emails(store, order(), shop, NOW)
    mailer = SESMailer(REGION, max_rate=None)
    assert deliver_due(store, mailer, NOW, shop=shop) == DeliveryReport(sent=2)
    subjects = sorted(str(parse(raw)["Subject"]) for _, _, raw in ses.sent())
    assert subjects == [
        "Commande CT-2026-000123 confirmée",
        "Nouvelle commande CT-2026-000123 : 75,36 €",
    ]


def test_a_message_ses_rejects_is_given_up_and_the_merchant_told_once(
    ses: MotoSES, shop: PublishedShop, store: SQLiteStore
) -> None:
    # From an address SES never verified (say, the shop's old domain): SES rejects it.
    unverified = sample_message(sender=Address("Old shop", addr_spec="orders@old-shop.example"))
    store.enqueue_mail(
        OutgoingMail("confirmation:cs_old", "alice@customer.example", unverified.as_bytes()), NOW
    )
    mailer = SESMailer(REGION, max_rate=None)

    def run(at: dt.datetime) -> DeliveryReport:
        return deliver_due(store, mailer, at, shop=shop)

    assert run(NOW) == DeliveryReport(dead=1)
    assert run(NOW + dt.timedelta(seconds=30)) == DeliveryReport(sent=1)  # the notice
    for hours in range(1, 80, 9):
        assert run(NOW + dt.timedelta(hours=hours)) == DeliveryReport()
    [(sender, destinations, raw)] = ses.sent()
    assert (sender, destinations[0]) == (SHOP_SENDER, SHOP_SENDER)
    notice = parse(raw)
    assert notice["Subject"] == "E-mail non distribué : Order CT-2026-000001 confirmed"
    text = body(notice, "plain")
    assert "Destinataire : alice@customer.example" in text
    assert "MessageRejected" in text


def test_throttling_is_retried_later_then_delivered(
    ses: MotoSES, shop: PublishedShop, failing_endpoint: str, store: SQLiteStore
) -> None:
    store.enqueue_mail(confirmation_email(order(), shop), NOW)
    throttled = EndpointMailer(f"{failing_endpoint}/throttled")
    before = REQUESTS["throttled"]
    report = deliver_due(store, throttled, NOW, backoff=SHORT, shop=shop)
    assert report == DeliveryReport(failed=1)
    assert REQUESTS["throttled"] == before + 1, "botocore must not retry: the outbox does"
    (waiting,) = due(store, NOW + dt.timedelta(seconds=10))
    assert waiting.attempts == 1 and "TooManyRequestsException" in (waiting.last_error or "")
    later = NOW + dt.timedelta(minutes=1)
    mailer = SESMailer(REGION, max_rate=None)
    assert deliver_due(store, mailer, later, shop=shop) == DeliveryReport(sent=1)
    assert [destinations[0] for _, destinations, _ in ses.sent()] == ["marie.dupont@example.org"]
