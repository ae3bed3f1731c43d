"""Hostile requests get a clear JSON 4xx and change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from functions.app import create_app
from functions.mailers import OutboxMailer
from functions.sqlite_store import SQLiteStore
from tests.apishop import api_settings, built_shop

ORIGIN = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_shop(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def client(shop: Path, tmp_path: Path) -> Iterator[tuple[TestClient, SQLiteStore]]:
    # Stripe is never reached by these requests: its address is a closed port.
    settings = api_settings(shop, "http://127.0.0.1:9/_stripe", ORIGIN)
    store = SQLiteStore(tmp_path / "store.sqlite3")
    app = create_app(settings, store, OutboxMailer(tmp_path / "outbox"))
    with TestClient(app, base_url="http://127.0.0.1:9", raise_server_exceptions=False) as test:
        yield test, store
    store.close()


def post(client: TestClient, path: str, body: Any, **headers: str) -> Any:
    return client.post(
        path,
        content=json.dumps(body),
        headers={"content-type": "application/json", "origin": ORIGIN, **headers},
    )


def good_cart(**extra: Any) -> dict[str, Any]:
    return {"items": [{"sku": "BOL-BLEU", "quantity": 1}], "country": "FR", **extra}


def test_quote_prices_from_the_catalogue(client: tuple[TestClient, SQLiteStore]) -> None:
    api, _ = client
    response = post(
        api,
        "/quote",
        {
            "items": [{"sku": "BOL-BLEU", "quantity": 2}],
            "country": "FR",
            "promo_code": "bienvenue10",
        },
    )
    assert response.status_code == 200
    quote = response.json()
    assert quote["subtotal"]["amount"] == 4980
    assert quote["discounts"][0]["amount"]["amount"] == 498
    assert quote["shipping"]["price"]["amount"] == 500
    assert quote["total"] == {"amount": 4482 + 500, "display": "49,82\u00a0€"}
    assert {v["rate"] for v in quote["vat"]} == {"20"}


@pytest.mark.parametrize(
    ("quantity", "status", "code"),
    [
        (-1, 400, "invalid_quantity"),
        (0, 400, "invalid_quantity"),
        (1.5, 400, "invalid_quantity"),
        ("2", 400, "invalid_quantity"),
        (10**9, 400, "invalid_quantity"),
        (True, 400, "invalid_quantity"),
        (None, 400, "invalid_quantity"),
    ],
)
@pytest.mark.parametrize("path", ["/quote", "/checkout"])
def test_bad_quantities(
    client: tuple[TestClient, SQLiteStore], path: str, quantity: Any, status: int, code: str
) -> None:
    api, store = client
    response = post(
        api, path, {"items": [{"sku": "BOL-BLEU", "quantity": quantity}], "country": "FR"}
    )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert store.available(["BOL-BLEU"], _now())["BOL-BLEU"] == 3


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"items": [{"sku": "NOPE", "quantity": 1}], "country": "FR"}, 404, "unknown_sku"),
        ({"items": [{"sku": "DRAFT-1", "quantity": 1}], "country": "FR"}, 404, "unknown_sku"),
        (
            {"items": [{"sku": "BOL-BLEU", "quantity": 1, "price": 1}], "country": "FR"},
            400,
            "unknown_field",
        ),
        ({"items": [{"sku": "BOL-BLEU", "quantity": 1}], "total": 1}, 400, "unknown_field"),
        ({"items": [{"sku": f"X{i}", "quantity": 1} for i in range(101)]}, 400, "too_many_lines"),
        ({"items": []}, 400, "invalid_items"),
        ([], 400, "invalid_body"),
        ({"items": [{"sku": "<script>", "quantity": 1}]}, 400, "invalid_sku"),
        (
            {"items": [{"sku": "BOL-BLEU", "quantity": 1}], "country": "Japan"},
            400,
            "invalid_country",
        ),
        (
            {"items": [{"sku": "BOL-BLEU", "quantity": 1}], "country": "JP"},
            422,
            "country_not_served",
        ),
    ],
)
@pytest.mark.parametrize("path", ["/quote", "/checkout"])
def test_bad_carts(
    client: tuple[TestClient, SQLiteStore], path: str, body: Any, status: int, code: str
) -> None:
    api, store = client
    response = post(api, path, body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert "Traceback" not in response.text
    assert store.available(["BOL-BLEU"], _now())["BOL-BLEU"] == 3


def test_oversized_body(client: tuple[TestClient, SQLiteStore]) -> None:
    api, _ = client
    body = json.dumps(good_cart(promo_code="A" * 70_000))
    response = api.post(
        "/checkout", content=body, headers={"content-type": "application/json", "origin": ORIGIN}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""],
)
def test_wrong_media_type(client: tuple[TestClient, SQLiteStore], content_type: str) -> None:
    api, _ = client
    response = api.post(
        "/checkout",
        content=json.dumps(good_cart()),
        headers={"content-type": content_type, "origin": ORIGIN},
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_foreign_origin(client: tuple[TestClient, SQLiteStore]) -> None:
    api, store = client
    response = post(api, "/checkout", good_cart(), origin="https://evil.example")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert store.available(["BOL-BLEU"], _now())["BOL-BLEU"] == 3


def test_invalid_json(client: tuple[TestClient, SQLiteStore]) -> None:
    api, _ = client
    response = api.post("/quote", content=b"{nope", headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_json")


def test_payment_service_down_releases_the_hold(client: tuple[TestClient, SQLiteStore]) -> None:
    api, store = client
    response = post(api, "/checkout", good_cart())
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "payment_unavailable"
    assert "127.0.0.1" not in response.text  # no internal detail leaks
    assert store.available(["BOL-BLEU"], _now())["BOL-BLEU"] == 3


def test_webhook_without_valid_signature(client: tuple[TestClient, SQLiteStore]) -> None:
    api, _ = client
    response = api.post(
        "/stripe/webhook", content=b'{"id": "evt_1"}', headers={"stripe-signature": "t=1,v1=00"}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_signature")
    response = api.post("/stripe/webhook", content=b"{}")
    assert response.status_code == 400


def test_stock_and_orders_routes(client: tuple[TestClient, SQLiteStore]) -> None:
    api, _ = client
    stock = api.get("/stock", params=[("sku", "BOL-BLEU"), ("sku", "VASE"), ("sku", "TASSE")])
    assert stock.json()["stock"] == {
        "BOL-BLEU": {"available": 3, "in_stock": True},
        "VASE": {"available": None, "in_stock": True},
        "TASSE": {"available": 0, "in_stock": False},
    }
    assert api.get("/stock", params={"sku": "NOPE"}).status_code == 404
    assert api.get("/stock").status_code == 400
    missing = api.get("/orders/cs_test_aaaaaaaaaaaaaaaa")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "order_not_found")
    assert api.get("/orders/../../etc").status_code == 404
    assert api.get("/nowhere").json()["error"]["code"] == "not_found"
    assert api.get("/quote").status_code == 405


def _now():  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.datetime.now(dt.UTC)


@pytest.mark.parametrize(
    "body", [b"[" * 30_000, b'{"items": [{"sku": "BOL-BLEU", "quantity": ' + b"9" * 5_000 + b"}]}"]
)
def test_pathological_json_is_a_clean_400(
    client: tuple[TestClient, SQLiteStore], body: bytes
) -> None:
    api, _ = client
    response = api.post("/quote", content=body, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_json")
