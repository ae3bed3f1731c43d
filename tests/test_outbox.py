"""The outbox: order e-mails survive a mail outage and are delivered exactly once.

Run against a small in-memory store (the outbox methods only) and the real
SQLite store, with a real SMTP server (aiosmtpd) that counts what it accepts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from functions.emails import confirmation_email
from functions.mailer import MailError
from functions.mailers import OutboxMailer, SMTPMailer
from functions.outbox import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_ATTEMPTS,
    DeliveryReport,
    deliver_due,
    envelope_sender,
    exponential_backoff,
    queue_order_emails,
)
from functions.store import OutgoingMail, Store
from shop.orders import Order
from shop.published import PublishedShop
from tests.mailer_contract import RecipientHandler, RecordingHandler, SMTPServer, body, parse
from tests.test_emails import english_order, example_shop, order

NOW = dt.datetime(2026, 9, 14, 8, 40, tzinfo=dt.UTC)
SHORT = exponential_backoff(dt.timedelta(seconds=10), dt.timedelta(seconds=80))


@pytest.fixture(scope="module")
def shop() -> PublishedShop:
    return example_shop()


class MemoryOutbox:
    """The outbox half of the Store contract, in memory, atomic under one lock."""

    def __init__(self) -> None:
        self.mails: dict[str, OutgoingMail] = {}
        self.queued_at: dict[str, dt.datetime] = {}
        self.dead_at: dict[str, dt.datetime] = {}
        self.lock = threading.Lock()

    def enqueue_mail(self, mail: OutgoingMail, now: dt.datetime) -> bool:
        with self.lock:
            if mail.key in self.mails:
                return False
            self.mails[mail.key] = dataclasses.replace(
                mail, next_attempt_at=mail.next_attempt_at or now
            )
            self.queued_at[mail.key] = now
            return True

    def claim_due_mails(
        self, now: dt.datetime, lease_until: dt.datetime, limit: int = 20
    ) -> list[OutgoingMail]:
        with self.lock:
            due = sorted(
                (
                    m
                    for m in self.mails.values()
                    if m.sent_at is None
                    and m.key not in self.dead_at
                    and m.next_attempt_at
                    and m.next_attempt_at <= now
                ),
                key=lambda m: self.queued_at[m.key],
            )[: max(limit, 0)]
            for mail in due:
                self.mails[mail.key] = dataclasses.replace(mail, next_attempt_at=lease_until)
            return [self.mails[m.key] for m in due]

    def mark_mail_sent(self, key: str, now: dt.datetime) -> None:
        with self.lock:
            mail = self.mails[key]
            if mail.sent_at is None:
                self.mails[key] = dataclasses.replace(mail, sent_at=now)

    def mark_mail_failed(self, key: str, error: str, retry_at: dt.datetime) -> None:
        with self.lock:
            mail = self.mails[key]
            if mail.sent_at is None and key not in self.dead_at:
                self.mails[key] = dataclasses.replace(
                    mail, attempts=mail.attempts + 1, last_error=error, next_attempt_at=retry_at
                )

    def mark_mail_dead(self, key: str, error: str, now: dt.datetime) -> None:
        with self.lock:
            mail = self.mails[key]
            if mail.sent_at is None and key not in self.dead_at:
                self.mails[key] = dataclasses.replace(
                    mail, attempts=mail.attempts + 1, last_error=error
                )
                self.dead_at[key] = now


def _store_kinds() -> list[str]:
    try:
        import functions.sqlite_store  # noqa: F401
    except ImportError:  # not written yet: the in-memory store still runs
        return ["memory"]
    return ["memory", "sqlite"]


@pytest.fixture(params=_store_kinds())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryOutbox()  # type: ignore[misc]  # the outbox methods are all it needs
        return
    from functions.sqlite_store import SQLiteStore

    sqlite = SQLiteStore(tmp_path / "shop.sqlite3")
    try:
        yield sqlite
    finally:
        sqlite.close()


@pytest.fixture
def server() -> Iterator[SMTPServer]:
    with SMTPServer() as running:
        yield running


def smtp(server: SMTPServer) -> SMTPMailer:
    return SMTPMailer("127.0.0.1", server.port, starttls=False, timeout=5)


def orders(count: int) -> list[Order]:
    return [order(session_id=f"cs_test_{n:03}", number=f"CT-2026-{n:06}") for n in range(count)]


def due(store: Store, at: dt.datetime) -> list[OutgoingMail]:
    """Peek at what is due at ``at`` (claiming it for an instant, as a sender would)."""
    return store.claim_due_mails(at, at, limit=1000)


def delivered_ids(server: SMTPServer) -> Counter[str]:
    return Counter(str(parse(received.data)["Message-ID"]) for received in server.received)


# -- queuing -------------------------------------------------------------------------------


def test_queue_order_emails_is_idempotent(store: Store, shop: PublishedShop) -> None:
    first = queue_order_emails(store, order(), shop, NOW)
    assert first == ["confirmation:cs_test_a1B2c3", "merchant:cs_test_a1B2c3"]
    assert queue_order_emails(store, order(), shop, NOW) == []
    assert queue_order_emails(store, order(), shop, NOW + dt.timedelta(days=3)) == []
    assert sorted(m.key for m in due(store, NOW)) == first


def test_invalid_customer_address_still_tells_the_merchant(
    store: Store, shop: PublishedShop, caplog: pytest.LogCaptureFixture
) -> None:
    bad = order(email="eve@example.org\r\nBcc: x@evil.example")
    with caplog.at_level(logging.WARNING, logger="functions.outbox"):
        queued = queue_order_emails(store, bad, shop, NOW)
    assert queued == ["merchant:cs_test_a1B2c3"]
    assert "CT-2026-000123" in caplog.text and "evil" not in caplog.text


# -- delivery ------------------------------------------------------------------------------


def test_delivers_queued_mail_with_the_right_envelope(
    store: Store, shop: PublishedShop, server: SMTPServer
) -> None:
    queue_order_emails(store, order(), shop, NOW)
    report = deliver_due(store, smtp(server), NOW, shop=shop)
    assert report == DeliveryReport(sent=2)
    envelopes = sorted((r.sender, r.recipients) for r in server.received)
    assert envelopes == [
        ("commandes@the-et-terre.example", ("commandes@the-et-terre.example",)),
        ("commandes@the-et-terre.example", ("marie.dupont@example.org",)),
    ]
    assert (
        deliver_due(store, smtp(server), NOW + dt.timedelta(hours=1), shop=shop) == DeliveryReport()
    )
    assert len(server.received) == 2


def test_outage_keeps_mail_queued_then_delivers_it_exactly_once(
    store: Store, shop: PublishedShop, server: SMTPServer
) -> None:
    queue_order_emails(store, order(), shop, NOW)
    mailer = smtp(server)
    server.stop()

    report = deliver_due(store, mailer, NOW, backoff=SHORT, shop=shop)
    assert report == DeliveryReport(failed=2)
    assert due(store, NOW + dt.timedelta(seconds=9)) == []  # waiting for the retry time
    retrying = due(store, NOW + dt.timedelta(seconds=10))
    assert [(m.attempts, m.sent_at) for m in retrying] == [(1, None), (1, None)]
    assert all("127.0.0.1" in (m.last_error or "") for m in retrying)

    # Still down: the wait doubles (10 s, then 20 s).
    later = NOW + dt.timedelta(seconds=30)
    assert deliver_due(store, mailer, later, backoff=SHORT, shop=shop) == DeliveryReport(failed=2)
    assert due(store, later + dt.timedelta(seconds=19)) == []
    assert [m.attempts for m in due(store, later + dt.timedelta(seconds=20))] == [2, 2]

    server.start()
    back = later + dt.timedelta(minutes=5)
    assert deliver_due(store, mailer, back, backoff=SHORT, shop=shop) == DeliveryReport(sent=2)
    assert deliver_due(store, mailer, back + dt.timedelta(hours=2), shop=shop) == DeliveryReport()
    counts = delivered_ids(server)
    assert len(counts) == 2 and set(counts.values()) == {1}


def test_backoff_doubles_up_to_a_cap() -> None:
    backoff = exponential_backoff()
    minutes = [backoff(n) / dt.timedelta(minutes=1) for n in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff(10_000) == dt.timedelta(hours=1)


def test_concurrent_senders_deliver_each_message_once(
    store: Store, shop: PublishedShop, server: SMTPServer
) -> None:
    for each in orders(10):
        queue_order_emails(store, each, shop, NOW)
    start = threading.Barrier(2)
    reports: list[DeliveryReport] = []

    def sender() -> None:
        start.wait()
        reports.append(deliver_due(store, smtp(server), NOW, limit=50, shop=shop))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(r.sent for r in reports) == 20
    assert sum(r.failed for r in reports) == 0
    counts = delivered_ids(server)
    assert len(counts) == 20 and set(counts.values()) == {1}


class CrashingMailer:
    """A sender that dies mid-run (not a MailError: the process goes away)."""

    def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        raise RuntimeError("killed")


def test_a_sender_that_dies_leaves_mail_for_the_next_once_the_lease_passes(
    store: Store, shop: PublishedShop, server: SMTPServer
) -> None:
    queue_order_emails(store, order(), shop, NOW)
    with pytest.raises(RuntimeError):
        deliver_due(store, CrashingMailer(), NOW, lease=dt.timedelta(minutes=5), shop=shop)
    assert (
        deliver_due(store, smtp(server), NOW + dt.timedelta(minutes=4), shop=shop)
        == DeliveryReport()
    )
    report = deliver_due(store, smtp(server), NOW + dt.timedelta(minutes=5), shop=shop)
    assert report == DeliveryReport(sent=2)
    assert set(delivered_ids(server).values()) == {1}


class SlowMailer:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.sent: list[bytes] = []

    def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        time.sleep(self.delay)
        self.sent.append(message)


def test_a_run_that_outlives_its_lease_leaves_the_rest_alone(
    store: Store, shop: PublishedShop
) -> None:
    queue_order_emails(store, order(), shop, NOW)
    mailer = SlowMailer(0.2)
    lease = dt.timedelta(seconds=0.1)
    report = deliver_due(store, mailer, NOW, lease=lease, shop=shop)
    # The first send took longer than the lease: another sender may own the second now.
    assert report == DeliveryReport(sent=1, deferred=1)
    assert (
        deliver_due(store, mailer, NOW + lease, lease=dt.timedelta(minutes=5), shop=shop).sent == 1
    )
    assert len(mailer.sent) == 2 and len(set(mailer.sent)) == 2


def test_outbox_folder_mailer_end_to_end(store: Store, shop: PublishedShop, tmp_path: Path) -> None:
    queue_order_emails(store, english_order(), shop, NOW)
    folder = tmp_path / "outbox"
    assert deliver_due(store, OutboxMailer(folder), NOW, shop=shop) == DeliveryReport(sent=2)
    subjects = sorted(parse(p.read_bytes())["Subject"] for p in folder.glob("*.eml"))
    assert subjects == [
        "Nouvelle commande CT-2026-000123 : 24,90 € (paiement en attente)",
        "Order CT-2026-000123 received: payment pending",
    ]


class FlakyMailer:
    def __init__(self) -> None:
        self.calls = 0

    def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        self.calls += 1
        if self.calls == 1:
            raise MailError("SMTP server answered 451 try later")


def test_one_failure_does_not_hold_back_the_others(store: Store, shop: PublishedShop) -> None:
    queue_order_emails(store, order(), shop, NOW)
    mailer = FlakyMailer()
    assert deliver_due(store, mailer, NOW, backoff=SHORT, shop=shop) == DeliveryReport(
        sent=1, failed=1
    )
    (waiting,) = due(store, NOW + dt.timedelta(seconds=10))
    assert waiting.last_error == "SMTP server answered 451 try later"


def test_envelope_sender_is_the_from_address(shop: PublishedShop) -> None:
    mail = confirmation_email(order(), shop)
    assert envelope_sender(mail) == "commandes@the-et-terre.example"


# -- giving up: permanent refusals and the retry limit ------------------------------------------


class RefusesAddress(RecordingHandler):
    """Answers RCPT TO ``address`` with ``answer`` (e.g. 550) and accepts the others."""

    def __init__(self, address: str, answer: str) -> None:
        super().__init__()
        self.address = address
        self.answer_to_address = answer

    async def handle_RCPT(  # type: ignore[no-untyped-def]
        self, server, session, envelope, address, rcpt_options
    ) -> str:
        if address == self.address:
            return self.answer_to_address
        envelope.rcpt_tos.append(address)
        return "250 OK"


def undelivered(store: Store, at: dt.datetime) -> list[str]:
    return sorted(m.key for m in due(store, at))


def test_a_refused_recipient_is_given_up_at_once_and_the_merchant_told_once(
    store: Store, shop: PublishedShop
) -> None:
    handler = RefusesAddress("marie.dupont@example.org", "550 5.1.1 No such user")
    with SMTPServer(handler) as server:
        queue_order_emails(store, order(), shop, NOW)
        mailer = smtp(server)
        assert deliver_due(store, mailer, NOW, shop=shop) == DeliveryReport(sent=1, dead=1)
        # The next run sends the notice; later ones find nothing, however many there are.
        soon = NOW + dt.timedelta(seconds=30)
        assert deliver_due(store, mailer, soon, shop=shop) == DeliveryReport(sent=1)
        for hours in range(1, 100, 7):
            later = NOW + dt.timedelta(hours=hours)
            assert deliver_due(store, mailer, later, shop=shop) == DeliveryReport()
        received = server.received
    assert [r.recipients for r in received] == [
        ("commandes@the-et-terre.example",),  # the order notification
        ("commandes@the-et-terre.example",),  # the notice
    ]
    notice = parse(received[1].data)
    assert notice["Subject"] == "E-mail non distribué : Commande CT-2026-000123 confirmée"
    text = body(notice, "plain")
    assert "Destinataire : marie.dupont@example.org" in text
    assert "Tentatives : 1" in text
    assert "550" in text
    assert undelivered(store, NOW + dt.timedelta(days=30)) == []


def test_a_temporary_refusal_is_retried_then_delivered(store: Store, shop: PublishedShop) -> None:
    handler = RefusesAddress("marie.dupont@example.org", "451 4.7.1 Greylisted, try later")
    with SMTPServer(handler) as server:
        queue_order_emails(store, order(), shop, NOW)
        mailer = smtp(server)
        report = deliver_due(store, mailer, NOW, backoff=SHORT, shop=shop)
        assert report == DeliveryReport(sent=1, failed=1)
        (waiting,) = due(store, NOW + dt.timedelta(seconds=10))
        assert (waiting.key, waiting.attempts) == ("confirmation:cs_test_a1B2c3", 1)
        assert "451" in (waiting.last_error or "")
        handler.address = "nobody@else.example"  # the greylisting passes
        later = NOW + dt.timedelta(minutes=10)
        assert deliver_due(store, mailer, later, backoff=SHORT, shop=shop) == DeliveryReport(sent=1)
        recipients = sorted(r.recipients for r in server.received)
    assert recipients == [("commandes@the-et-terre.example",), ("marie.dupont@example.org",)]


def test_a_refused_notice_is_not_noticed_about(store: Store, shop: PublishedShop) -> None:
    handler = RecipientHandler("550 5.7.1 Relaying denied")
    with SMTPServer(handler) as server:
        queue_order_emails(store, order(), shop, NOW)
        mailer = smtp(server)
        assert deliver_due(store, mailer, NOW, shop=shop) == DeliveryReport(dead=2)
        soon = NOW + dt.timedelta(seconds=30)
        assert deliver_due(store, mailer, soon, shop=shop) == DeliveryReport(dead=2)  # notices
        for hours in range(1, 50, 7):
            later = NOW + dt.timedelta(hours=hours)
            assert deliver_due(store, mailer, later, shop=shop) == DeliveryReport()
        assert server.received == []


class DownMailer:
    """A mail server that never comes back."""

    def __init__(self) -> None:
        self.calls = 0

    def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        self.calls += 1
        raise MailError("cannot connect to SMTP server mx.example:25: Connection refused")


def test_transient_failures_are_given_up_after_max_attempts(
    store: Store, shop: PublishedShop
) -> None:
    mail = confirmation_email(order(), shop)
    store.enqueue_mail(mail, NOW)
    mailer = DownMailer()
    at = NOW
    reports = []
    for _ in range(5):
        reports.append(deliver_due(store, mailer, at, backoff=SHORT, max_attempts=3, shop=shop))
        at += dt.timedelta(minutes=5)
    assert reports == [
        DeliveryReport(failed=1),
        DeliveryReport(failed=1),
        DeliveryReport(dead=1),  # the 3rd attempt: given up, the notice queued
        DeliveryReport(failed=1),  # the notice, through the same dead server
        DeliveryReport(failed=1),
    ]
    assert mailer.calls == 5
    (notice,) = due(store, at + dt.timedelta(hours=1))
    assert notice.key == "alert:confirmation:cs_test_a1B2c3"
    text = body(parse(notice.message), "plain")
    assert "Tentatives : 3" in text
    assert "Connection refused" in text


def test_the_default_retry_limit_is_about_three_days() -> None:
    waited = sum(
        (DEFAULT_BACKOFF(attempt) for attempt in range(1, DEFAULT_MAX_ATTEMPTS)), dt.timedelta()
    )
    assert dt.timedelta(days=2, hours=20) <= waited <= dt.timedelta(days=3, hours=4)


class StopsOnceBeforeBurying:
    """A store whose sender stops once between queuing the notice and marking the mail dead."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.stopped = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def mark_mail_dead(self, key: str, error: str, now: dt.datetime) -> None:
        if not self.stopped:
            self.stopped = True
            raise RuntimeError("the sender stopped here")
        self.store.mark_mail_dead(key, error, now)


def test_a_sender_stopping_mid_give_up_still_tells_the_merchant_once(
    store: Store, shop: PublishedShop
) -> None:
    store.enqueue_mail(confirmation_email(order(), shop), NOW)
    wrapped = cast(Store, StopsOnceBeforeBurying(store))
    refusing = RefusingMailer()
    lease = dt.timedelta(minutes=5)
    with pytest.raises(RuntimeError):
        deliver_due(wrapped, refusing, NOW, lease=lease, shop=shop)
    # The notice is queued; the refused mail comes back once its lease passes.
    again = NOW + lease
    report = deliver_due(wrapped, refusing, again, lease=lease, limit=1, shop=shop)
    assert report == DeliveryReport(dead=1)
    assert refusing.subjects == ["Commande CT-2026-000123 confirmée"] * 2
    assert undelivered(store, again + dt.timedelta(days=9)) == ["alert:confirmation:cs_test_a1B2c3"]


class RefusingMailer:
    """Refuses order confirmations for good; accepts everything else."""

    def __init__(self) -> None:
        self.subjects: list[str] = []

    def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        subject = str(parse(message)["Subject"])
        if "confirm" in subject:
            self.subjects.append(subject)
            raise MailError("SES refused the message (MessageRejected)", permanent=True)
