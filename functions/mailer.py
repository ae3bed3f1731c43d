"""The mailer contract: hand a finished message to a delivery back-end.

Implementations: ``OutboxMailer`` (``.eml`` files in a folder, the embedded
default), ``SMTPMailer`` and ``SESMailer``. All pass ``tests/mailer_contract.py``.
Messages go through the store's outbox first (``functions.outbox``), so an
outage delays mail and never loses or duplicates it.
"""

from __future__ import annotations

from typing import Protocol


class MailError(Exception):
    """The back-end did not accept the message.

    ``permanent`` is False for what may pass later (an outage, throttling, a 4xx
    reply, a configuration the merchant can fix): the outbox retries it. It is
    True when this very message will never be accepted (an SMTP 5xx reply to its
    recipient or content, SES ``MessageRejected``): the outbox stops retrying it
    and tells the merchant.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Mailer(Protocol):
    def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        """Deliver one complete RFC 5322 message; raise MailError on failure."""
