"""The mailer back-ends: the shared contract, then what is particular to each."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.mailer import MailError
from functions.mailers import OutboxMailer, SMTPMailer, eml_name
from tests.mailer_contract import (
    Backend,
    MailerContract,
    RecipientHandler,
    RecordingHandler,
    SMTPServer,
    parse,
    sample_message,
)

# -- the contract, for each back-end -----------------------------------------------


class TestOutboxMailer(MailerContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        folder = tmp_path / "outbox"
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")

        def delivered() -> list[bytes]:
            files = sorted(folder.glob("*.eml")) if folder.exists() else []
            return [path.read_bytes() for path in files]

        return Backend(
            OutboxMailer(folder),
            delivered,
            # Root may write anywhere, so "unwritable" is a folder under a file.
            failing={"unwritable folder": OutboxMailer(blocker / "outbox")},
        )


class TestSMTPMailer(MailerContract):
    @pytest.fixture
    def backend(self) -> Iterator[Backend]:
        with (
            SMTPServer() as server,
            SMTPServer(RecordingHandler("451 4.3.0 Try again later")) as busy,
            SMTPServer(RecipientHandler("450 4.2.1 Mailbox busy")) as greylisting,
            SMTPServer(RecipientHandler("550 5.1.1 No such user")) as no_such_user,
            SMTPServer(RecordingHandler("554 5.7.1 Rejected as spam")) as spam_filter,
        ):
            stopped = SMTPServer().start()
            stopped.stop()
            yield Backend(
                smtp(server),
                lambda: [received.data for received in server.received],
                failing={
                    "server stopped": smtp(stopped),
                    "server answers 451 to the message": smtp(busy),
                    "server answers 450 to the recipient": smtp(greylisting),
                },
                refusing={
                    "server answers 550 to the recipient": smtp(no_such_user),
                    "server answers 554 to the message": smtp(spam_filter),
                },
            )


def smtp(server: SMTPServer, **options: object) -> SMTPMailer:
    settings: dict[str, object] = {"starttls": False, "timeout": 5.0} | options
    return SMTPMailer("127.0.0.1", server.port, **settings)  # type: ignore[arg-type]


# -- the outbox folder -------------------------------------------------------------


def test_outbox_resending_a_message_overwrites_its_file(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path / "outbox")
    raw = sample_message().as_bytes()
    mailer.send(raw, "orders@shop.example", ["alice@customer.example"])
    mailer.send(raw, "orders@shop.example", ["alice@customer.example"])
    other = sample_message(message_id="<another@shop.example>").as_bytes()
    mailer.send(other, "orders@shop.example", ["alice@customer.example"])
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert len(files) == 2, "one file per Message-ID, and no temporary file left behind"
    assert all(name.endswith(".eml") and not name.startswith(".") for name in files)


def test_outbox_file_is_named_by_date_and_message_id_hash() -> None:
    raw = sample_message().as_bytes()
    name = eml_name(raw)
    assert name.startswith("20261123-091500-")  # the Date header, in UTC
    assert name == eml_name(raw)
    assert name != eml_name(sample_message(message_id="<other@shop.example>").as_bytes())
    assert "contract" not in name  # a hash, not the Message-ID itself


def test_outbox_creates_its_folder_and_writes_private_files(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "outbox"
    OutboxMailer(folder).send(sample_message().as_bytes(), "o@shop.example", ["a@b.example"])
    (written,) = folder.iterdir()
    assert written.stat().st_mode & 0o077 == 0, "order e-mails hold personal data"
    assert parse(written.read_bytes())["Subject"] == "Order CT-2026-000001 confirmed"


# -- SMTP specifics ----------------------------------------------------------------


def test_smtp_passes_the_envelope() -> None:
    with SMTPServer() as server:
        raw = sample_message().as_bytes()
        smtp(server).send(raw, "bounces@shop.example", ["alice@customer.example"])
        (received,) = server.received
    assert received.sender == "bounces@shop.example"
    assert received.recipients == ("alice@customer.example",)


def test_smtp_logs_in_and_never_shows_the_password() -> None:
    handler = RecordingHandler(login=("shop", "s3cret-pw"))
    with SMTPServer(handler, auth_require_tls=False) as server:
        good = smtp(server, username="shop", password="s3cret-pw")
        good.send(sample_message().as_bytes(), "o@shop.example", ["a@b.example"])
        assert len(server.received) == 1
        bad = smtp(server, username="shop", password="wrong-pw")
        with pytest.raises(MailError) as caught:
            bad.send(sample_message().as_bytes(), "o@shop.example", ["a@b.example"])
    assert "535" in str(caught.value)
    assert "wrong-pw" not in str(caught.value)
    assert "s3cret-pw" not in repr(good)
    assert "***" in repr(good)


def test_smtp_refuses_to_send_a_password_in_clear_over_the_network() -> None:
    with pytest.raises(ValueError, match="starttls"):
        SMTPMailer("smtp.example.com", 587, starttls=False, username="u", password="p")
    SMTPMailer("smtp.example.com", 587, starttls=True, username="u", password="p")
    SMTPMailer("127.0.0.1", 2525, starttls=False, username="u", password="p")


def test_smtp_starttls_not_offered_is_a_mail_error() -> None:
    with SMTPServer() as server:
        mailer = smtp(server, starttls=True)
        with pytest.raises(MailError, match="STARTTLS"):
            mailer.send(sample_message().as_bytes(), "o@shop.example", ["a@b.example"])
        assert server.received == []


def test_smtp_refused_recipient_is_a_permanent_mail_error() -> None:
    with SMTPServer(RecipientHandler("550 5.1.1 No such user")) as server:
        with pytest.raises(MailError, match="550") as caught:
            smtp(server).send(sample_message().as_bytes(), "o@shop.example", ["x@b.example"])
        assert server.received == []
    assert caught.value.permanent


def test_smtp_login_refused_is_retried_as_the_merchant_can_fix_it() -> None:
    handler = RecordingHandler(login=("shop", "s3cret-pw"))
    with SMTPServer(handler, auth_require_tls=False) as server:
        mailer = smtp(server, username="shop", password="old-pw")
        with pytest.raises(MailError, match="535") as caught:
            mailer.send(sample_message().as_bytes(), "o@shop.example", ["a@b.example"])
    assert not caught.value.permanent, "a 5xx about our settings is not about this message"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield int(listener.getsockname()[1])


def test_smtp_timeout_is_a_mail_error(silent_server: int) -> None:
    mailer = SMTPMailer("127.0.0.1", silent_server, starttls=False, timeout=0.3)
    with pytest.raises(MailError, match="did not answer"):
        mailer.send(sample_message().as_bytes(), "o@shop.example", ["a@b.example"])


@pytest.fixture
def hanging_up_server() -> Iterator[int]:
    """Greets, reads one command, then closes the connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = int(listener.getsockname()[1])

    def serve() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:  # closed by the fixture before anyone connected
            return
        with connection:
            connection.sendall(b"220 test ESMTP\r\n")
            connection.recv(1024)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.close()
        thread.join(timeout=5)


def test_smtp_disconnect_is_a_mail_error(hanging_up_server: int) -> None:
    mailer = SMTPMailer("127.0.0.1", hanging_up_server, starttls=False, timeout=5)
    with pytest.raises(MailError, match="closed the connection"):
        mailer.send(sample_message().as_bytes(), "o@shop.example", ["a@b.example"])
