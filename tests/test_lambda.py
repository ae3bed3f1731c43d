"""The Lambda entry points, fed real event dicts (tests/lambda_events.py).

Everything behind the handler is real: the published shop of a built fixture shop, the
SQLite store, the .eml outbox, the official ``stripe`` library talking to the offline
emulator over HTTP, and SSM Parameter Store served by moto on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from functions import lambda_app
from functions.lambda_app import (
    HOLD_RETENTION,
    Deployment,
    LambdaHandler,
    cold_start,
    http_handler,
    run_scheduled,
)
from functions.settings import ConfigurationError
from functions.store import OutgoingMail
from generator.build import build
from shop.published import load, published_path
from stripe_emulator import signature_header
from tests.apishop import built_shop
from tests.lambda_events import (
    function_url_event,
    http_api_event,
    json_body,
    response_json,
)
from tests.servers import free_port
from tests.stripe_emulator_support import API_KEY, WEBHOOK_SECRET, Emulator, running_emulator

ORIGIN = "https://mini.example"  # the fixture shop's base_url: where the cart page runs
JSON = {"content-type": "application/json", "origin": ORIGIN}
CART = {"items": [{"sku": "BOL-BLEU", "quantity": 1}], "country": "FR"}


@pytest.fixture(scope="module")
def shop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_shop(tmp_path_factory.mktemp("lambda"))


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with running_emulator(terms_of_service_url=ORIGIN + "/cgv/") as running:
        yield running


def environment(emulator: Emulator, var: Path, **extra: str) -> dict[str, str]:
    return {
        "STRIPE_SECRET_KEY": API_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": emulator.base_url,
        "COMPTOIR_STORE": str(var / "store.sqlite3"),
        "COMPTOIR_OUTBOX": str(var / "outbox"),
        **extra,
    }


@pytest.fixture
def deployment(shop_root: Path, emulator: Emulator, tmp_path: Path) -> Deployment:
    return cold_start(environment(emulator, tmp_path), package_root=shop_root)


@pytest.fixture
def handler(deployment: Deployment) -> LambdaHandler:
    return http_handler(deployment)


def post(handler: LambdaHandler, path: str, data: Any, **options: Any) -> dict[str, Any]:
    return handler(http_api_event("POST", path, json_body(data), JSON, **options), None)


def pay(url: str) -> None:
    """Fill the emulator's payment page with Stripe's success card."""
    form = {
        "email": "camille@example.fr",
        "name": "Camille Martin",
        "country": "FR",
        "line1": "3 rue des Tisserands",
        "postal_code": "69001",
        "city": "Lyon",
        "payment_method": "card",
        "card_number": "4242 4242 4242 4242",
        "card_expiry": "12/34",
        "card_cvc": "123",
        "terms": "accepted",
    }
    assert httpx.post(url, data=form, timeout=30).status_code in (200, 303)


# -- HTTP events ---------------------------------------------------------------------------


def test_a_quote_through_an_http_api_event(handler: LambdaHandler, shop_root: Path) -> None:
    response = post(handler, "/api/quote", CART)
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    assert response["isBase64Encoded"] is False
    quote = response_json(response)
    assert quote["lines"][0]["unit_price"]["amount"] == 2490
    assert (
        quote["total"]["amount"]
        == quote["goods_total"]["amount"] + (quote["shipping"]["price"]["amount"])
    )
    assert quote["catalog"] == load(published_path(shop_root)).hash[:16]


def test_a_quote_with_a_base64_body_through_a_function_url(handler: LambdaHandler) -> None:
    event = function_url_event("POST", "/api/quote", json_body(CART), JSON, base64_body=True)
    response = handler(event, None)
    assert response["statusCode"] == 200
    assert response_json(response)["lines"][0]["sku"] == "BOL-BLEU"


def test_a_stock_query_string(handler: LambdaHandler) -> None:
    event = http_api_event("GET", "/api/stock", query="sku=BOL-BLEU&sku=TASSE")
    stock = response_json(handler(event, None))["stock"]
    assert stock == {
        "BOL-BLEU": {"available": 3, "in_stock": True},
        "TASSE": {"available": 0, "in_stock": False},
    }


def test_a_paid_checkout_and_its_signed_webhook_make_one_order(
    handler: LambdaHandler, deployment: Deployment, emulator: Emulator, tmp_path: Path
) -> None:
    quoted = response_json(post(handler, "/api/quote", CART))["total"]["amount"]
    response = post(handler, "/api/checkout", CART)
    assert response["statusCode"] == 201, response["body"]
    checkout = response_json(response)
    assert checkout["url"].startswith(emulator.base_url)
    assert deployment.store is not None
    assert deployment.store.available(["BOL-BLEU"], dt.datetime.now(dt.UTC)) == {"BOL-BLEU": 2}
    pay(checkout["url"])
    sent = next(
        received
        for received in _wait_for_event(emulator, "checkout.session.completed")
        if checkout["session_id"] in received.body.decode()
    )
    # What Stripe sent, byte for byte, base64-encoded by the Function URL.
    event = function_url_event(
        "POST",
        "/api/stripe/webhook",
        sent.body,
        {"content-type": "application/json; charset=utf-8", "stripe-signature": sent.signature},
        base64_body=True,
    )
    response = handler(event, None)
    assert response["statusCode"] == 200, response["body"]
    assert response_json(response) == {"received": True}
    order = deployment.store.get_order(checkout["session_id"])
    assert order is not None and order.status == "paid" and order.total.amount == quoted
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2  # shopper and merchant, sent
    assert handler(event, None)["statusCode"] == 200  # a replay creates nothing more
    assert len(deployment.store.list_orders()) == 1
    page = handler(http_api_event("GET", f"/api/orders/{checkout['session_id']}"), None)
    assert response_json(page)["status"] == "paid"


def _wait_for_event(emulator: Emulator, event_type: str) -> list[Any]:
    """The emulator's deliveries of ``event_type`` (what Stripe would POST to the function)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = [r for r in emulator.receiver.received if json.loads(r.body)["type"] == event_type]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {event_type} event from the emulator")


def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(
    handler: LambdaHandler, deployment: Deployment
) -> None:
    payload = json_body(
        {
            "id": "evt_test_forged",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {"object": {"id": "cs_test_forged0000000000", "object": "checkout.session"}},
            "created": int(time.time()),
            "livemode": False,
        }
    )
    forged = signature_header(payload, "whsec_not_the_shops_secret", int(time.time()))
    for signature in (forged, "", "t=1,v1=00"):
        event = function_url_event(
            "POST",
            "/api/stripe/webhook",
            payload,
            {"content-type": "application/json", "stripe-signature": signature},
        )
        response = handler(event, None)
        assert response["statusCode"] == 400
        assert response_json(response)["error"]["code"] == "invalid_signature"
    assert deployment.store is not None
    assert deployment.store.list_orders() == []
    assert deployment.store.claim_event("evt_test_forged", dt.datetime.now(dt.UTC)) is True


def test_a_body_over_64_kb_is_413_and_text_is_415(handler: LambdaHandler) -> None:
    big = json_body({"items": [{"sku": "BOL-BLEU", "quantity": 1}] * 5000})
    assert len(big) > 64 * 1024
    response = handler(http_api_event("POST", "/api/quote", big, JSON), None)
    assert response["statusCode"] == 413
    assert response_json(response)["error"]["code"] == "body_too_large"
    text = {"content-type": "text/plain", "origin": ORIGIN}
    response = handler(http_api_event("POST", "/api/quote", json_body(CART), text), None)
    assert response["statusCode"] == 415
    assert response_json(response)["error"]["code"] == "unsupported_media_type"


def test_paths_outside_the_api_are_json_404s(handler: LambdaHandler) -> None:
    for path in ("/quote", "/", "/apiquote", "/api/nope"):
        response = handler(http_api_event("POST", path, json_body(CART), JSON), None)
        assert response["statusCode"] == 404, path
        assert response_json(response)["error"]["code"] == "not_found"


# -- catalogue changes: never charged at a stale price ---------------------------------------


@pytest.fixture(scope="module")
def repriced_root(shop_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same shop, rebuilt after the merchant raised the bowl's price to 27,50 €."""
    root = tmp_path_factory.mktemp("repriced") / "shop"
    shutil.copytree(shop_root / "content", root / "content")
    bowl = root / "content" / "products" / "bol.md"
    bowl.write_text(bowl.read_text().replace("price: 24.90", "price: 27.50"))
    build(root)
    return root


def test_a_cart_quoted_against_an_older_catalogue_is_repriced_at_checkout(
    handler: LambdaHandler, repriced_root: Path, emulator: Emulator, tmp_path: Path
) -> None:
    old = response_json(post(handler, "/api/quote", CART))
    # A deployment of the new build (a new cold start), on the same store.
    new = http_handler(cold_start(environment(emulator, tmp_path), package_root=repriced_root))
    response = post(new, "/api/checkout", {**CART, "catalog": old["catalog"]})
    assert response["statusCode"] == 409
    answer = response_json(response)
    assert answer["error"]["code"] == "prices_changed"
    assert answer["quote"]["lines"][0]["unit_price"]["amount"] == 2750
    assert answer["quote"]["catalog"] != old["catalog"]
    stock = response_json(new(http_api_event("GET", "/api/stock", query="sku=BOL-BLEU"), None))
    assert stock["stock"]["BOL-BLEU"]["available"] == 3  # nothing was held

    # Confirmed at the new total, or sent without a catalogue: charged the current price.
    for body in ({**CART, "catalog": answer["quote"]["catalog"]}, CART):
        response = post(new, "/api/checkout", body)
        assert response["statusCode"] == 201
        session_id = response_json(response)["session_id"]
        session = emulator.client.v1.checkout.sessions.retrieve(session_id)
        assert session.amount_total == answer["quote"]["total"]["amount"]
        assert session.metadata is not None
        assert session.metadata["catalog"] == answer["quote"]["catalog"]


def test_a_malformed_catalogue_is_a_400(handler: LambdaHandler) -> None:
    response = post(handler, "/api/checkout", {**CART, "catalog": "../../etc/passwd"})
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["code"] == "invalid_catalog"


# -- cold starts with a broken configuration -----------------------------------------------


def assert_unavailable(handler: LambdaHandler) -> None:
    events = [
        http_api_event("POST", "/api/quote", json_body(CART), JSON),
        http_api_event("GET", "/api/stock", query="sku=BOL-BLEU"),
        function_url_event("POST", "/api/stripe/webhook", b"{}", {"stripe-signature": "t=1"}),
        http_api_event("DELETE", "/anything/else"),
    ]
    for event in events:
        response = handler(event, None)
        assert response["statusCode"] == 503
        assert response["headers"]["retry-after"] == "60"
        error = response_json(response)["error"]
        assert error["code"] == "unavailable"
        assert "try again" in error["message"]
        assert "Traceback" not in response["body"] and "STRIPE" not in response["body"]


def start_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "comptoir.lambda"]


def test_a_missing_setting_logs_one_line_and_answers_503(
    shop_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "COMPTOIR_STORE": str(tmp_path / "s.db")}
    with caplog.at_level(logging.INFO, logger="comptoir.lambda"):
        deployment = cold_start(env, package_root=shop_root)
    assert start_lines(caplog) == [
        "comptoir cannot start, every request gets a 503: STRIPE_SECRET_KEY is not set"
    ]
    assert WEBHOOK_SECRET not in caplog.text
    assert_unavailable(http_handler(deployment))
    with pytest.raises(ConfigurationError):
        run_scheduled(deployment)


def test_a_missing_published_shop_logs_what_to_run_and_answers_503(
    emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="comptoir.lambda"):
        deployment = cold_start(environment(emulator, tmp_path), package_root=tmp_path)
    (line,) = start_lines(caplog)
    assert "published" in line and "comptoir build" in line
    assert API_KEY not in caplog.text and WEBHOOK_SECRET not in caplog.text
    assert_unavailable(http_handler(deployment))


def test_an_unexpected_failure_at_start_answers_503_without_details(
    shop_root: Path, emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "store-is-a-folder").mkdir()
    env = environment(emulator, tmp_path, COMPTOIR_STORE=str(tmp_path / "store-is-a-folder"))
    with caplog.at_level(logging.INFO, logger="comptoir.lambda"):
        deployment = cold_start(env, package_root=shop_root)
    (line,) = start_lines(caplog)
    assert line.startswith("comptoir cannot start, every request gets a 503: unexpected ")
    assert_unavailable(http_handler(deployment))


def test_unknown_back_ends_are_refused_naming_the_choices(
    shop_root: Path, emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cases = {
        "COMPTOIR_STORE": ("redis://user:hunter2@cache:6379", "use a SQLite file's path"),
        "COMPTOIR_MAIL_URL": (
            "pigeon://user:hunter2@loft",
            "use ses://REGION (Amazon SES), smtp://host:port",
        ),
    }
    for name, (value, choices) in cases.items():
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="comptoir.lambda"):
            cold_start(environment(emulator, tmp_path, **{name: value}), package_root=shop_root)
        (line,) = start_lines(caplog)
        assert f"{name}: unknown kind" in line and choices in line
        assert "hunter2" not in caplog.text


# -- the scheduled pass ----------------------------------------------------------------------


def test_the_scheduled_pass_sends_due_mail_and_drops_long_expired_holds(
    deployment: Deployment, tmp_path: Path
) -> None:
    store = deployment.store
    assert store is not None
    now = dt.datetime.now(dt.UTC)
    store.reserve("hold_forgotten", {"BOL-BLEU": 1}, now - HOLD_RETENTION - dt.timedelta(1), now)
    store.reserve("hold_recent", {"BOL-BLEU": 1}, now - dt.timedelta(hours=1), now)
    message = b"From: shop@mini.example\r\nTo: camille@example.fr\r\nSubject: hi\r\n\r\nhi\r\n"
    store.enqueue_mail(OutgoingMail("test:1", "camille@example.fr", message), now)

    report = run_scheduled(deployment)
    assert (report.released_holds, report.mails_sent, report.mails_failed) == (1, 1, 0)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    # The recent hold may still become a sale (a webhook retried late): it stays.
    assert store.release_reservation("hold_recent") is True


# -- Stripe secrets from SSM Parameter Store (moto server) ---------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The AWS_* environment pointing boto3 at moto; yields the SSM operations called."""
    for name, value in {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-3",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    httpx.post(moto_url + "/moto-api/reset", timeout=10)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session()
    calls: list[str] = []
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(
        "before-call.ssm", lambda model, **_: calls.append(model.name)
    )
    yield calls


def put_secret(name: str, value: str) -> None:
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name=name, Value=value, Type="SecureString")


def test_stripe_secrets_come_from_ssm_in_one_call(
    aws: list[str],
    shop_root: Path,
    emulator: Emulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    put_secret("/comptoir/stripe/secret-key", API_KEY)
    put_secret("/comptoir/stripe/webhook-secret", WEBHOOK_SECRET)
    aws.clear()
    env = environment(
        emulator,
        tmp_path,
        STRIPE_SECRET_KEY="",
        STRIPE_WEBHOOK_SECRET="",
        STRIPE_SECRET_KEY_SSM="/comptoir/stripe/secret-key",
        STRIPE_WEBHOOK_SECRET_SSM="/comptoir/stripe/webhook-secret",
    )
    with caplog.at_level(logging.INFO):
        handler = http_handler(cold_start(env, package_root=shop_root))
    assert aws == ["GetParameters"]
    assert API_KEY not in caplog.text and WEBHOOK_SECRET not in caplog.text
    # The key from SSM opens checkouts; the webhook secret from SSM verifies signatures.
    assert post(handler, "/api/checkout", CART)["statusCode"] == 201
    payload = json_body(
        {
            "id": "evt_test_ssm",
            "object": "event",
            "type": "ping.test",
            "data": {"object": {}},
            "created": int(time.time()),
            "livemode": False,
        }
    )
    signature = signature_header(payload, WEBHOOK_SECRET, int(time.time()))
    event = function_url_event(
        "POST",
        "/api/stripe/webhook",
        payload,
        {"content-type": "application/json", "stripe-signature": signature},
    )
    assert handler(event, None)["statusCode"] == 200
    assert aws == ["GetParameters"]  # read once per cold start, not per request


def test_a_missing_ssm_parameter_names_it_and_answers_503(
    aws: list[str],
    shop_root: Path,
    emulator: Emulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    put_secret("/comptoir/stripe/webhook-secret", WEBHOOK_SECRET)
    env = environment(
        emulator,
        tmp_path,
        STRIPE_SECRET_KEY="",
        STRIPE_SECRET_KEY_SSM="/comptoir/stripe/nope",
    )
    with caplog.at_level(logging.INFO, logger="comptoir.lambda"):
        deployment = cold_start(env, package_root=shop_root)
    (line,) = start_lines(caplog)
    assert "SSM parameter not found: /comptoir/stripe/nope" in line
    assert_unavailable(http_handler(deployment))


def test_left_to_its_defaults_the_function_warns_that_tmp_does_not_last(
    shop_root: Path,
    emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(lambda_app, "SCRATCH", tmp_path / "scratch")  # Lambda's /tmp/comptoir
    env = environment(emulator, tmp_path)
    del env["COMPTOIR_STORE"], env["COMPTOIR_OUTBOX"]
    with caplog.at_level(logging.INFO, logger="comptoir.lambda"):
        deployment = cold_start(env, package_root=shop_root)
    warnings = start_lines(caplog)
    assert len(warnings) == 2
    assert warnings[0].startswith("COMPTOIR_STORE is a SQLite file in ")
    assert warnings[1].startswith("COMPTOIR_MAIL_URL is not set: e-mails are written to ")
    assert post(http_handler(deployment), "/api/quote", CART)["statusCode"] == 200
    assert (tmp_path / "scratch" / "comptoir.sqlite3").is_file()
