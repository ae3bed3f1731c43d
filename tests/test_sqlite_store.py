"""SQLiteStore: the store contract, plus what only a file on disk can show."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

# Before the import: so the contract's plain asserts explain their failures.
pytest.register_assert_rewrite("tests.store_contract")

from functions.sqlite_store import SCHEMA_VERSION, SQLiteStore  # noqa: E402
from functions.store import Checkout, InsufficientStock, OutgoingMail, StoreError  # noqa: E402
from tests.store_contract import (  # noqa: E402
    LATER,
    NOW,
    MakeStore,
    PersonalDataContract,
    StoreContract,
    make_order,
    priced,
    run_together,
)


class TestSQLiteStore(StoreContract, PersonalDataContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[MakeStore]:
        handles: list[SQLiteStore] = []

        def make() -> SQLiteStore:
            handles.append(SQLiteStore(tmp_path / "store.sqlite3"))
            return handles[-1]

        yield make
        for handle in handles:
            handle.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "store.sqlite3"


def test_everything_survives_reopening(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.sync_stock({"A": 5})
        store.reserve("k1", {"A": 2}, LATER, NOW)
        store.commit_reservation("k1", NOW)
        store.reserve("k2", {"A": 1}, LATER, NOW)
        store.create_order(make_order())
        store.save_checkout(Checkout("cs_test_1", "k1", NOW, LATER, priced(), "c0ffee"))
        store.claim_event("evt_1", NOW)
        store.count_code_use("BIENVENUE", "cs_test_1")
        store.record_customer("lea@example.fr", "Léa", True, NOW)
        store.enqueue_mail(OutgoingMail("m1", "lea@example.fr", b"Subject: x\r\n\r\nx"), NOW)
    with SQLiteStore(path) as store:
        assert store.available(["A"], NOW) == {"A": 2}
        assert store.commit_reservation("k1", NOW) is False
        assert store.get_order("cs_test_1") == make_order()
        assert store.get_checkout("cs_test_1") is not None
        assert store.claim_event("evt_1", NOW) is False
        assert store.code_uses("BIENVENUE") == 1
        customer = store.get_customer("lea@example.fr")
        assert customer is not None and customer.marketing_consent
        assert [m.key for m in store.claim_due_mails(NOW, LATER)] == ["m1"]


def test_the_file_is_in_wal_mode_with_a_schema_version(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.available(["A"], NOW)
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("SELECT max(version) FROM schema_version").fetchone() == (
            SCHEMA_VERSION,
        )
    finally:
        raw.close()


def test_many_handles_open_a_new_file_at_once(path: Path) -> None:
    handles = [SQLiteStore(path) for _ in range(8)]
    try:
        outcomes = run_together(8, lambda i: handles[i].claim_event("evt_1", NOW))
        assert sorted(outcomes, key=str) == [False] * 7 + [True]
    finally:
        for handle in handles:
            handle.close()


BOUGHT = 100  # a child's exit code is BOUGHT + its successes; a crash exits with 1


def _buy(path: str, keys: list[str], start: threading.Barrier) -> None:
    """In a child process: reserve one unit per key, all children starting together."""
    bought = 0
    with SQLiteStore(Path(path)) as store:
        start.wait(timeout=60)
        for key in keys:
            try:
                store.reserve(key, {"LAST": 1}, LATER, NOW)
                bought += 1
            except InsufficientStock:
                pass
    raise SystemExit(BOUGHT + bought)


def buy_in_processes(path: Path, stock: int, keys_per_process: list[list[str]]) -> list[int]:
    """How many units each process could reserve, with ``stock`` units for all of them."""
    with SQLiteStore(path) as store:
        store.sync_stock({"LAST": stock})
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(keys_per_process))
    processes = [
        context.Process(target=_buy, args=(str(path), keys, start)) for keys in keys_per_process
    ]
    for process in processes:
        process.start()
    codes = []
    for process in processes:
        process.join(timeout=60)
        if process.exitcode is None:
            process.kill()
            process.join()
        codes.append(process.exitcode)
        process.close()
    assert all(code is not None and code >= BOUGHT for code in codes), codes
    return [code - BOUGHT for code in codes if code is not None]


def test_two_processes_want_the_last_unit(path: Path) -> None:
    assert sorted(buy_in_processes(path, 1, [["p1"], ["p2"]])) == [0, 1]
    with SQLiteStore(path) as store:
        assert store.available(["LAST"], NOW) == {"LAST": 0}


def test_processes_never_oversell(path: Path) -> None:
    keys = [[f"p{p}-{k}" for k in range(4)] for p in range(4)]
    assert sum(buy_in_processes(path, 5, keys)) == 5
    with SQLiteStore(path) as store:
        assert store.available(["LAST"], NOW) == {"LAST": 0}


def test_a_locked_database_becomes_store_error(path: Path) -> None:
    with SQLiteStore(path, timeout=0.05) as store:
        store.sync_stock({"A": 1})
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE")
            with pytest.raises(StoreError) as raised:
                store.reserve("k1", {"A": 1}, LATER, NOW)
            assert not isinstance(raised.value, sqlite3.Error)
            assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
            assert store.available(["A"], NOW) == {"A": 1}  # WAL: readers still read
            blocker.execute("ROLLBACK")
        finally:
            blocker.close()
        store.reserve("k1", {"A": 1}, LATER, NOW)  # the outage is over
        assert store.available(["A"], NOW) == {"A": 0}


def test_a_corrupt_file_becomes_store_error(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, just a text file\n" * 200)
    with SQLiteStore(path) as store, pytest.raises(StoreError):
        store.available(["A"], NOW)


def test_an_unusable_location_becomes_store_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with SQLiteStore(tmp_path / "a-file" / "store.sqlite3") as store, pytest.raises(StoreError):
        store.claim_event("evt_1", NOW)


def test_a_file_from_a_newer_version_is_refused(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.claim_event("evt_1", NOW)
    raw = sqlite3.connect(path)
    try:
        with raw:
            raw.execute("INSERT INTO schema_version VALUES (?, ?)", (SCHEMA_VERSION + 1, "x"))
    finally:
        raw.close()
    with SQLiteStore(path) as store, pytest.raises(StoreError, match="newer"):
        store.claim_event("evt_2", NOW)


def test_a_closed_store_refuses_calls(path: Path) -> None:
    store = SQLiteStore(path)
    store.claim_event("evt_1", NOW)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.claim_event("evt_2", NOW)


def test_naive_datetimes_are_refused(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.sync_stock({"A": 1})
        with pytest.raises(ValueError, match="naive"):
            store.reserve("k1", {"A": 1}, LATER.replace(tzinfo=None), NOW)
        assert store.available(["A"], NOW) == {"A": 1}


def test_datetimes_come_back_in_utc(path: Path) -> None:
    paris = NOW.astimezone(ZoneInfo("Europe/Paris"))
    with SQLiteStore(path) as store:
        store.create_order(make_order(created_at=paris))
        order = store.get_order("cs_test_1")
        assert order is not None
        assert order.created_at == NOW
        assert order.created_at.utcoffset() == dt.timedelta(0)


def test_bad_quantities_and_counts_are_refused(path: Path) -> None:
    with SQLiteStore(path) as store:
        with pytest.raises(ValueError):
            store.sync_stock({"A": -1})
        store.sync_stock({"A": 1})
        for quantity in (0, -2):
            with pytest.raises(ValueError):
                store.reserve("k1", {"A": quantity}, LATER, NOW)
        assert store.available(["A"], NOW) == {"A": 1}


def test_customers_are_keyed_by_normalised_email(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.record_customer(" Lea@Example.FR", "Léa", False, NOW)
        store.record_customer("lea@example.fr", "", True, LATER)
        customer = store.get_customer("LEA@example.fr")
        assert customer is not None
        assert (customer.email, customer.name, customer.marketing_consent) == (
            "lea@example.fr",
            "Léa",
            True,
        )
        assert (customer.created_at, customer.updated_at) == (NOW, LATER)


def test_unknown_keys_are_key_errors(path: Path) -> None:
    with SQLiteStore(path) as store:
        with pytest.raises(KeyError):
            store.set_checkout_payment("cs_test_nope", "pi_1")
        with pytest.raises(KeyError):
            store.mark_mail_sent("nope", NOW)
        with pytest.raises(KeyError):
            store.mark_mail_failed("nope", "error", NOW)


def test_a_dead_mail_keeps_its_message_error_and_time(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.enqueue_mail(OutgoingMail("m1", "lea@example.fr", b"Subject: x\r\n\r\nx"), NOW)
        store.enqueue_mail(OutgoingMail("m2", "lea@example.fr", b"Subject: y\r\n\r\ny"), NOW)
        store.claim_due_mails(NOW, LATER)
        store.mark_mail_sent("m2", NOW)
        store.mark_mail_dead("m1", "SMTP 550 no such user", LATER)
        store.mark_mail_dead("m1", "a second report", LATER + dt.timedelta(hours=1))
        store.mark_mail_dead("m2", "too late", LATER)
    raw = sqlite3.connect(path)
    try:
        rows = raw.execute(
            "SELECT key, message, attempts, last_error, sent_at IS NULL, dead_at FROM outbox"
            " ORDER BY key"
        ).fetchall()
    finally:
        raw.close()
    assert rows == [
        (
            "m1",
            b"Subject: x\r\n\r\nx",
            1,
            "SMTP 550 no such user",
            1,
            LATER.isoformat(timespec="microseconds"),
        ),
        ("m2", b"Subject: y\r\n\r\ny", 0, None, 0, None),
    ]


def test_a_version_1_file_keeps_its_queued_mail(path: Path) -> None:
    from functions.sqlite_store import MIGRATIONS

    path.parent.mkdir(parents=True)
    raw = sqlite3.connect(path)
    try:
        with raw:
            for statement in MIGRATIONS[0]:
                raw.execute(statement)
            raw.execute(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)"
            )
            raw.execute("INSERT INTO schema_version VALUES (1, ?)", (NOW.isoformat(),))
            raw.execute(
                "INSERT INTO outbox (key, recipient, message, attempts, next_attempt_at,"
                " created_at) VALUES ('m1', 'lea@example.fr', x'00', 3, ?, ?)",
                (NOW.isoformat(timespec="microseconds"),) * 2,
            )
    finally:
        raw.close()
    with SQLiteStore(path) as store:
        [mail] = store.claim_due_mails(NOW, LATER)
        assert (mail.key, mail.attempts) == ("m1", 3)
        store.mark_mail_dead("m1", "SMTP 550", NOW)
        far = NOW + dt.timedelta(days=30)
        assert store.claim_due_mails(far, far) == []
