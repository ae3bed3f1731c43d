"""DynamoDBStore: the store contract against moto in server mode, plus racing Lambdas.

moto runs as a real HTTP server on 127.0.0.1 (started here, for the session) and
the store reaches it through boto3's standard ``AWS_ENDPOINT_URL``: the store has
no code path of its own for it. Each test gets a table of its own.

moto applies one request at a time and does not simulate conflicts between
concurrent transactions (DynamoDB cancels one of them): the racing tests below
prove that our conditions let exactly one writer through whatever the
interleaving, not DynamoDB's isolation itself.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from moto.server import DomainDispatcherApplication, ThreadedMotoServer, create_backend_app
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

# Before the import: so the contract's plain asserts explain their failures.
pytest.register_assert_rewrite("tests.store_contract")

from functions.backends import store_for  # noqa: E402
from functions.dynamodb_store import DynamoDBStore  # noqa: E402
from functions.settings import from_environment  # noqa: E402
from functions.sqlite_store import SQLiteStore  # noqa: E402
from functions.store import Checkout, InsufficientStock, StoreError  # noqa: E402
from tests.apishop import built_shop, running_stack  # noqa: E402
from tests.servers import free_port  # noqa: E402
from tests.store_contract import (  # noqa: E402
    LATER,
    NOW,
    SECOND,
    MakeStore,
    PersonalDataContract,
    StoreContract,
    make_order,
    priced,
    run_together,
)
from tests.test_checkout_flow import pay, wait_for  # noqa: E402

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-3",
    "AWS_REGION": "eu-west-3",
}


class SerialMotoServer(ThreadedMotoServer):
    """moto's server answering one request at a time.

    DynamoDB applies each write, and each transaction, atomically; moto's threaded server
    does not (two conditional writes can both pass their check before either writes), so
    racing clients would see effects DynamoDB never allows. One request at a time gives
    moto DynamoDB's per-request atomicity; the racing tests then prove our conditions.
    """

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self._ip_address, self._port, app, threaded=False)
        self._server_ready_event.set()
        self._server.serve_forever()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server on a free port, and the environment that points boto3 at it."""
    port = free_port()
    server = SerialMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**AWS_ENV, "AWS_ENDPOINT_URL": endpoint}.items():
            patch.setenv(name, value)
        # No developer's profile or config file may leak into the tests.
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_DYNAMODB"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        yield endpoint
    server.stop()


@pytest.fixture
def table(moto_endpoint: str) -> str:
    """A new table name: every test starts from an empty store."""
    name = f"comptoir-{uuid.uuid4().hex[:12]}"
    DynamoDBStore(name, create_table=True).close()
    return name


@pytest.fixture
def new_handle(table: str) -> Iterator[MakeStore]:
    """Opens a new store handle on the test's table, closed at teardown."""
    handles: list[DynamoDBStore] = []

    def make() -> DynamoDBStore:
        handles.append(DynamoDBStore(table))  # its own client, like another Lambda
        return handles[-1]

    yield make
    for handle in handles:
        handle.close()


class TestDynamoDBStore(StoreContract, PersonalDataContract):
    @pytest.fixture
    def make_store(self, new_handle: MakeStore) -> MakeStore:
        return new_handle


def raw_item(table: str, pk: str, sk: str) -> dict[str, Any]:
    client = boto3.session.Session().client("dynamodb")
    item: dict[str, Any] = client.get_item(
        TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
    ).get("Item", {})
    client.close()
    return item


def counters(table: str, sku: str) -> dict[str, int]:
    item = raw_item(table, f"SKU#{sku}", "STOCK")
    return {name: int(item[name]["N"]) for name in ("baseline", "sold", "held", "spare")}


# -- racing Lambdas -----------------------------------------------------------------


def test_twenty_lambdas_racing_for_the_last_unit_make_one_sale(
    new_handle: MakeStore, table: str
) -> None:
    new_handle().sync_stock({"LAST": 1})
    lambdas = [new_handle() for _ in range(20)]  # 20 clients, 20 connection pools

    def checkout_and_pay(index: int) -> str:
        store = lambdas[index]
        hold = f"hold_{index}"
        store.reserve(hold, {"LAST": 1}, LATER, NOW)
        store.save_checkout(Checkout(f"cs_{index}", hold, NOW, LATER, priced(), "c0ffee"))
        # Stripe says paid: the webhook's Lambda sells the hold and records the order.
        assert store.commit_reservation(hold, NOW + SECOND)
        assert store.create_order(make_order(f"cs_{index}"))
        return f"cs_{index}"

    outcomes = run_together(20, checkout_and_pay)
    sold = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if isinstance(o, InsufficientStock)]
    assert len(sold) == 1 and len(refused) == 19, outcomes
    assert all(error.available == 0 for error in refused)
    store = new_handle()
    assert [order.session_id for order in store.list_orders()] == sold
    assert store.available(["LAST"], NOW) == {"LAST": 0}
    assert counters(table, "LAST") == {"baseline": 1, "sold": 1, "held": 0, "spare": 0}


def test_duplicate_webhook_deliveries_racing_make_one_order(
    new_handle: MakeStore, table: str
) -> None:
    setup = new_handle()
    setup.sync_stock({"A": 5})
    setup.reserve("hold_1", {"A": 2}, LATER, NOW)
    lambdas = [new_handle() for _ in range(12)]

    def deliver(index: int) -> bool:
        store = lambdas[index]
        # The same event delivered twelve times at once: whoever claims it handles it.
        if not store.claim_event("evt_completed", NOW):
            return False
        assert store.create_order(make_order("cs_test_1"))
        assert store.commit_reservation("hold_1", NOW)
        store.count_code_use("BIENVENUE", "hold_1")
        return True

    outcomes = run_together(12, deliver)
    assert outcomes.count(True) == 1 and outcomes.count(False) == 11, outcomes
    # A sibling event for the same session, racing too: orders and sales stay at one.
    created = run_together(12, lambda i: lambdas[i].create_order(make_order("cs_test_1")))
    committed = run_together(12, lambda i: lambdas[i].commit_reservation("hold_1", NOW))
    assert created == [False] * 12 and committed == [False] * 12
    assert [o.session_id for o in setup.list_orders()] == ["cs_test_1"]
    assert setup.code_uses("BIENVENUE") == 1
    assert counters(table, "A") == {"baseline": 5, "sold": 2, "held": 0, "spare": 3}


# -- expiry: the sweep, TTL, and counters that never depend on it ---------------------


def test_the_sweep_gives_back_expired_holds_only(new_handle: MakeStore, table: str) -> None:
    store = new_handle()
    store.sync_stock({"A": 10, "B": 3})
    store.reserve("k1", {"A": 2, "B": 1}, LATER, NOW)
    store.reserve("k2", {"A": 3}, LATER + dt.timedelta(days=2), NOW)  # expires another day
    store.reserve("k3", {"FREE": 1}, LATER, NOW)  # untracked: nothing to give back
    assert counters(table, "A")["held"] == 5
    assert store.release_expired_holds(LATER - SECOND) == 0
    assert store.release_expired_holds(LATER) == 1
    assert counters(table, "A") == {"baseline": 10, "sold": 0, "held": 3, "spare": 7}
    assert counters(table, "B") == {"baseline": 3, "sold": 0, "held": 0, "spare": 3}
    assert store.release_expired_holds(LATER + SECOND) == 0  # once only
    assert store.available(["A", "B"], LATER) == {"A": 7, "B": 3}
    # Swept is released, as in SQLite (the Lambda sweeps past Stripe's retries only).
    assert store.release_reservation("k1") is False
    assert raw_item(table, "HOLD#k1", "HOLD") == {}
    three_days = NOW + dt.timedelta(days=3)
    assert store.release_expired_holds(three_days) == 1  # k2, found in its own day
    assert counters(table, "A") == {"baseline": 10, "sold": 0, "held": 0, "spare": 10}
    assert raw_item(table, "SWEEP", "HOLDS")["day"] == {"S": three_days.date().isoformat()}


def test_holds_carry_a_ttl_that_correctness_does_not_need(
    new_handle: MakeStore, table: str
) -> None:
    store = new_handle()
    store.sync_stock({"A": 1})
    store.reserve("k1", {"A": 1}, LATER, NOW)
    hold = raw_item(table, "HOLD#k1", "HOLD")
    assert int(hold["expires"]["N"]) == int((LATER + dt.timedelta(days=7)).timestamp())
    client = boto3.session.Session().client("dynamodb")
    ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    client.close()
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires")
    # No sweep ran and TTL deleted nothing: the expired hold still frees its unit.
    store.reserve("k2", {"A": 1}, LATER + dt.timedelta(hours=1), LATER)
    assert counters(table, "A") == {"baseline": 1, "sold": 0, "held": 1, "spare": 0}


def test_a_reservation_drops_many_expired_holds_in_batches(
    new_handle: MakeStore, table: str
) -> None:
    store = new_handle()
    store.sync_stock({"A": 30})
    for index in range(25):  # more than one update expression drops at once
        store.reserve(f"k{index}", {"A": 1}, LATER, NOW)
    assert counters(table, "A")["held"] == 25
    store.reserve("big", {"A": 30}, LATER + dt.timedelta(hours=1), LATER)
    assert counters(table, "A") == {"baseline": 30, "sold": 0, "held": 30, "spare": 0}
    assert store.commit_reservation("k3", LATER)  # expired and dropped: still sells, oversold
    assert counters(table, "A") == {"baseline": 30, "sold": 1, "held": 30, "spare": -1}
    assert store.available(["A"], LATER) == {"A": 0}


# -- no scan, and errors at the boundary ----------------------------------------------


class RecordingClient:
    """A boto3 client that remembers which operations it was asked for."""

    def __init__(self) -> None:
        self.client = boto3.session.Session().client("dynamodb")
        self.operations: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.operations.add(name)
        return getattr(self.client, name)


def test_a_whole_purchase_never_scans(table: str) -> None:
    recording = RecordingClient()
    store = DynamoDBStore(table, client=recording)
    store.sync_stock({"A": 2})
    store.available(["A", "FREE"], NOW)
    assert store.claim_code_use("UNEFOIS", "hold_1", 1)
    store.reserve("hold_1", {"A": 1, "FREE": 1}, LATER, NOW)
    store.save_checkout(Checkout("cs_1", "hold_1", NOW, LATER, priced(), "c0ffee"))
    assert store.claim_event("evt_1", NOW)
    store.set_checkout_payment("cs_1", "pi_1")
    assert store.commit_reservation("hold_1", NOW)
    assert store.create_order(make_order("cs_1"))
    store.record_customer("lea@example.fr", "Léa", True, NOW)
    assert store.find_checkout_by_payment("pi_1") is not None
    assert [o.session_id for o in store.list_orders()] == ["cs_1"]
    store.release_expired_holds(LATER)
    store.close()
    assert "scan" not in recording.operations
    assert recording.operations >= {"query", "transact_write_items", "get_item"}


def test_an_unreachable_table_is_a_store_error(moto_endpoint: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = boto3.session.Session().client(
        "dynamodb", endpoint_url=dead, config=Config(retries={"max_attempts": 1})
    )
    store = DynamoDBStore("comptoir-unreachable", client=client)
    with pytest.raises(StoreError, match="comptoir-unreachable"):
        store.available(["A"], NOW)
    with pytest.raises(StoreError):
        store.create_order(make_order())
    store.close()


def test_a_missing_table_is_a_store_error(moto_endpoint: str) -> None:
    with DynamoDBStore("comptoir-never-created") as store, pytest.raises(StoreError):
        store.claim_event("evt_1", NOW)


# -- choosing the store ------------------------------------------------------------------


def test_comptoir_store_chooses_dynamodb_by_its_url(moto_endpoint: str, tmp_path: Path) -> None:
    name = f"comptoir-{uuid.uuid4().hex[:12]}"

    def settings(store: str) -> Any:
        keys = {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"}
        return from_environment(tmp_path, {**keys, "COMPTOIR_STORE": store})

    # Deployed, the template makes the table, never the store.
    with store_for(settings(f"dynamodb://{name}")) as store, pytest.raises(StoreError):  # type: ignore[attr-defined]
        store.claim_event("evt_1", NOW)
    with store_for(settings(f"dynamodb://{name}"), local=True) as store:  # type: ignore[attr-defined]
        assert isinstance(store, DynamoDBStore) and store.table == name
        assert store.claim_event("evt_1", NOW)
    with store_for(settings(f"dynamodb://{name}"), local=True) as again:  # type: ignore[attr-defined]
        assert not again.claim_event("evt_1", NOW)
    path = tmp_path / "var" / "store.sqlite3"
    with store_for(settings(str(path)), local=True) as sqlite:  # type: ignore[attr-defined]
        assert isinstance(sqlite, SQLiteStore) and sqlite.path == path


# -- comptoir serve on DynamoDB -------------------------------------------------------------


def test_comptoir_serve_sells_on_dynamodb(moto_endpoint: str, tmp_path: Path) -> None:
    shop = built_shop(tmp_path)
    table = f"comptoir-serve-{uuid.uuid4().hex[:8]}"  # missing: serve creates it
    store_env = {"COMPTOIR_STORE": f"dynamodb://{table}"}
    with running_stack(shop, tmp_path / "var", store_env) as (origin, stack):
        assert isinstance(stack.store, DynamoDBStore) and stack.store.table == table
        assert stack.store.available(["BOL-BLEU"], dt.datetime.now(dt.UTC)) == {"BOL-BLEU": 3}
        response = httpx.post(
            origin + "/api/checkout",
            json={"items": [{"sku": "BOL-BLEU", "quantity": 1}], "country": "FR"},
            headers={"origin": origin},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        url = response.json()["url"]
        session_id = url.rsplit("/", 1)[-1]
        assert pay(url).status_code == 303  # the emulator's page, card 4242 4242 4242 4242

        def paid() -> bool:
            found = httpx.get(f"{origin}/api/orders/{session_id}", timeout=10)
            return found.status_code == 200 and found.json()["status"] == "paid"

        wait_for(paid)
        [order] = stack.store.list_orders()
        assert order.session_id == session_id and order.email == "camille@example.fr"
        assert stack.store.available(["BOL-BLEU"], dt.datetime.now(dt.UTC)) == {"BOL-BLEU": 2}
        assert counters(table, "BOL-BLEU") == {"baseline": 3, "sold": 1, "held": 0, "spare": 2}

        def confirmation() -> list[EmailMessage]:
            mails = [
                message_from_bytes(path.read_bytes(), _class=EmailMessage, policy=policy.default)
                for path in (tmp_path / "var" / "outbox").glob("*.eml")
            ]
            return [m for m in mails if m["To"].addresses[0].addr_spec == "camille@example.fr"]

        [mail] = wait_for(confirmation)
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None and order.number in body.get_content()
        sent = raw_item(table, f"MAIL#confirmation:{session_id}", "MAIL")
        assert "sent_at" in sent  # the store's outbox recorded it sent


def test_a_cold_start_with_unchanged_counts_only_reads(table: str) -> None:
    DynamoDBStore(table).sync_stock({f"SKU-{n:03}": n for n in range(150)})
    recording = RecordingClient()
    cold_start = DynamoDBStore(table, client=recording)
    cold_start.sync_stock({f"SKU-{n:03}": n for n in range(150)})
    assert recording.operations == {"get_item", "batch_get_item"}
    cold_start.sync_stock({f"SKU-{n:03}": n for n in range(1, 150)} | {"SKU-000": 7})
    assert cold_start.available(["SKU-000", "SKU-149"], NOW) == {"SKU-000": 7, "SKU-149": 149}
    cold_start.close()


def test_a_browser_purchase_with_comptoir_serve_on_dynamodb(
    moto_endpoint: str, tmp_path: Path, page: Page
) -> None:
    """A shopper's purchase in the browser, from the cart to the order page and the e-mail,
    with the local stack's store in DynamoDB (moto)."""
    from tests.test_checkout_browser import CARD_OK, fill_payment_page, go_to_payment, open_cart

    shop = built_shop(tmp_path)
    table = f"comptoir-browser-{uuid.uuid4().hex[:8]}"
    with running_stack(shop, tmp_path / "var", {"COMPTOIR_STORE": f"dynamodb://{table}"}) as (
        origin,
        stack,
    ):
        assert isinstance(stack.store, DynamoDBStore)
        page.set_viewport_size({"width": 390, "height": 844})
        open_cart(page, origin, ("BOL-BLEU", 2))
        page.select_option("#checkout-country", "FR")
        session_id = go_to_payment(page)
        fill_payment_page(page, CARD_OK)
        page.wait_for_url(f"**/order/?session_id={session_id}")
        expect(page.locator("[data-order-message]")).to_have_attribute(
            "data-state", "paid", timeout=20_000
        )
        number = page.locator("[data-order-number]").inner_text()
        assert counters(table, "BOL-BLEU") == {"baseline": 3, "sold": 2, "held": 0, "spare": 1}

        def confirmation() -> list[EmailMessage]:
            mails = [
                message_from_bytes(path.read_bytes(), _class=EmailMessage, policy=policy.default)
                for path in (tmp_path / "var" / "outbox").glob("*.eml")
            ]
            return [m for m in mails if m["To"].addresses[0].addr_spec == "camille@example.fr"]

        [mail] = wait_for(confirmation)
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None and number in body.get_content()
