"""The mailer contract: hand a finished message to a delivery back-end.

Implementations: ``OutboxMailer`` (``.eml`` files in a folder, the embedded
default), ``SMTPMailer``, and later SES. All pass ``tests/mailer_contract.py``.
Messages go through the store's outbox first (``functions.outbox``), so an
outage delays mail and never loses or duplicates it.
"""

from __future__ import annotations

from typing import Protocol


class MailError(Exception):
    """The back-end did not accept the message; the outbox will retry later."""


class Mailer(Protocol):
    def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        """Deliver one complete RFC 5322 message; raise MailError on failure."""
