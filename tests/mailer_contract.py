"""The contract every mailer back-end passes (``functions.mailer.Mailer``).

A back-end's test class inherits ``MailerContract`` and provides the fixture
``backend``: a ``Backend`` with the mailer, a way to read back what it
delivered, and mailers that fail the way that back-end really fails.
``tests/test_mailers.py`` runs it for ``OutboxMailer`` and ``SMTPMailer``.
"""

from __future__ import annotations

import abc
import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import Envelope, Session

from functions.mailer import Mailer, MailError
from tests.servers import free_port


@dataclass
class Backend:
    mailer: Mailer
    delivered: Callable[[], list[bytes]]  # every message delivered so far, oldest first
    # What goes wrong -> a mailer that fails that way: for a while (retried) ...
    failing: dict[str, Mailer] = field(default_factory=dict)
    # ... or for good (this message will never be accepted: MailError.permanent).
    refusing: dict[str, Mailer] = field(default_factory=dict)


def sample_message(
    subject: str = "Order CT-2026-000001 confirmed",
    sender: Address | None = None,
    to: Address | None = None,
    message_id: str = "<contract-1@shop.example>",
) -> EmailMessage:
    """A multipart/alternative message like the order e-mails."""
    message = EmailMessage(policy=SMTP)
    message["Subject"] = subject
    message["From"] = sender or Address("Shop", addr_spec="orders@shop.example")
    message["To"] = to or Address("Alice Martin", addr_spec="alice@customer.example")
    message["Date"] = "Mon, 23 Nov 2026 10:15:00 +0100"
    message["Message-ID"] = message_id
    message.set_content("Hello Alice,\n\nThank you.\n.a line that starts with a dot\n")
    message.add_alternative("<p>Hello Alice,</p><p>Thank you.</p>\n", subtype="html")
    return message


def parse(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")  # parsed from the wire, lines end in CRLF


class MailerContract(abc.ABC):
    """Inherit and provide the ``backend`` fixture; every test here must pass."""

    @abc.abstractmethod
    def backend(self) -> Backend:
        """A pytest fixture in the subclass: a fresh back-end for each test."""

    def test_delivers_a_message_that_parses_back_identically(self, backend: Backend) -> None:
        message = sample_message()
        raw = message.as_bytes()
        backend.mailer.send(raw, "orders@shop.example", ["alice@customer.example"])
        (delivered,) = backend.delivered()
        # Byte for byte, but for a final line ending a transport may normalise.
        assert delivered.rstrip(b"\r\n") == raw.rstrip(b"\r\n")
        parsed = parse(delivered)
        assert parsed["Subject"] == "Order CT-2026-000001 confirmed"
        assert parsed["From"] == "Shop <orders@shop.example>"
        assert parsed["To"] == "Alice Martin <alice@customer.example>"
        assert parsed["Message-ID"] == "<contract-1@shop.example>"
        assert body(parsed, "plain") == body(message, "plain")
        assert body(parsed, "html") == body(message, "html")
        assert ".a line that starts with a dot" in body(parsed, "plain")

    def test_non_ascii_names_and_subject_survive(self, backend: Backend) -> None:
        message = sample_message(
            subject="Commande CT-2026-000002 confirmée — thé vert 🍵",
            sender=Address("Thé & Terre", addr_spec="commandes@the-et-terre.example"),
            to=Address("Zoë Núñez-Ødegård", addr_spec="zoe@client.example"),
        )
        raw = message.as_bytes()
        assert raw.isascii()  # headers as encoded words, bodies transfer-encoded
        backend.mailer.send(raw, "commandes@the-et-terre.example", ["zoe@client.example"])
        (delivered,) = backend.delivered()
        assert delivered.isascii()
        parsed = parse(delivered)
        assert parsed["Subject"] == "Commande CT-2026-000002 confirmée — thé vert 🍵"
        assert parsed["From"].addresses[0].display_name == "Thé & Terre"
        assert parsed["To"].addresses[0].display_name == "Zoë Núñez-Ødegård"
        assert parsed["To"].addresses[0].addr_spec == "zoe@client.example"

    def test_delivers_each_message_it_is_given(self, backend: Backend) -> None:
        for number in range(3):
            message = sample_message(
                subject=f"Message {number}", message_id=f"<contract-{number}@shop.example>"
            )
            backend.mailer.send(message.as_bytes(), "orders@shop.example", ["a@customer.example"])
        subjects = sorted(parse(data)["Subject"] for data in backend.delivered())
        assert subjects == ["Message 0", "Message 1", "Message 2"]

    def test_refuses_a_message_without_recipients(self, backend: Backend) -> None:
        with pytest.raises(MailError) as caught:
            backend.mailer.send(sample_message().as_bytes(), "orders@shop.example", [])
        assert caught.value.permanent, "no retry can deliver a message to nobody"
        assert backend.delivered() == []

    def test_every_failure_is_a_mail_error_and_delivers_nothing(self, backend: Backend) -> None:
        assert backend.failing, "a back-end must show how it fails"
        cases = [(what, mailer, False) for what, mailer in backend.failing.items()]
        cases += [(what, mailer, True) for what, mailer in backend.refusing.items()]
        for what, mailer, permanent in cases:
            with pytest.raises(MailError) as caught:
                mailer.send(sample_message().as_bytes(), "orders@shop.example", ["a@b.example"])
            message = str(caught.value)
            assert message, what
            assert "\n" not in message and len(message) < 300, (what, message)
            assert caught.value.permanent is permanent, (what, message)
        assert backend.delivered() == []


# -- a real SMTP server for tests --------------------------------------------------


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    data: bytes


class RecordingHandler:
    """aiosmtpd handler: answers DATA with ``answer``, keeping what it accepted.

    With ``login`` (user, password) it also accepts AUTH PLAIN/LOGIN checks
    (implemented here: aiosmtpd's own authenticator path emits a deprecation
    warning, which our warnings-as-errors setting would turn into a crash).
    """

    def __init__(self, answer: str = "250 OK", login: tuple[str, str] | None = None) -> None:
        self.answer = answer
        self.login = login
        self.received: list[Received] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTPProtocol, session: Session, envelope: Envelope) -> str:
        if self.answer.startswith("250"):
            content = envelope.content
            data = content.encode() if isinstance(content, str) else bytes(content or b"")
            with self._lock:
                self.received.append(
                    Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), data)
                )
        return self.answer

    async def handle_AUTH(
        self, server: SMTPProtocol, session: Session, envelope: Envelope, args: list[str]
    ) -> str:
        if self.login and len(args) == 2 and args[0].upper() == "PLAIN":
            user, password = self.login
            if base64.b64decode(args[1]).split(b"\0")[1:] == [user.encode(), password.encode()]:
                session.authenticated = True
                return "235 2.7.0 Authentication successful"
        return "535 5.7.8 Authentication credentials invalid"


class RecipientHandler(RecordingHandler):
    """Answers every RCPT TO with ``rcpt_answer`` (e.g. ``550 5.1.1 No such user``)."""

    def __init__(self, rcpt_answer: str) -> None:
        super().__init__()
        self.rcpt_answer = rcpt_answer

    async def handle_RCPT(
        self,
        server: SMTPProtocol,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.rcpt_answer.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_answer


class SMTPServer:
    """An aiosmtpd server on 127.0.0.1 at a fixed free port.

    ``stop()`` then ``start()`` simulates an outage: the port refuses
    connections meanwhile and the same handler keeps counting afterwards.
    """

    def __init__(self, handler: RecordingHandler | None = None, **options: Any) -> None:
        self.handler = handler or RecordingHandler()
        self.port = free_port()
        self.options = options
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return list(self.handler.received)

    def start(self) -> SMTPServer:
        if self._controller is None:
            controller = Controller(
                self.handler, hostname="127.0.0.1", port=self.port, **self.options
            )
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SMTPServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
