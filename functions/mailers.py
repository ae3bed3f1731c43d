"""Mail delivery back-ends: ``.eml`` files in an outbox folder, an SMTP server, or Amazon SES.

Each implements ``functions.mailer.Mailer`` and passes ``tests/mailer_contract.py``.
Every failure becomes a ``MailError`` with a short message that names the
back-end and what went wrong, never a password. It is ``permanent`` only when
this message can never be accepted (see ``MailError``); the outbox retries the
others later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
import smtplib
import ssl
import threading
import time
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from functions.mailer import MailError
from shop.files import write_atomic

_LOCAL_HOSTS = frozenset({"localhost", "localhost.localdomain"})


class OutboxMailer:
    """Writes each message to ``folder`` as an ``.eml`` file (the embedded default).

    The file name is the message's date plus a hash of its Message-ID, so
    sending the same message again (an outbox retry) overwrites the same file
    instead of adding a duplicate. Files appear whole: each is written to a
    temporary file in the same folder, flushed, then renamed into place.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __repr__(self) -> str:
        return f"OutboxMailer({str(self.folder)!r})"

    def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        """Write ``message`` to the folder; raises MailError if it cannot be written."""
        if not recipients:
            raise MailError("no recipients", permanent=True)
        target = self.folder / eml_name(message)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise MailError(
                f"cannot write to the outbox folder {self.folder}: {_reason(error)}"
            ) from None
        try:
            write_atomic(target, message, durable=True, mode=0o600)  # personal data
        except OSError as error:
            raise MailError(f"cannot write {target.name} to the outbox: {_reason(error)}") from None


def eml_name(message: bytes) -> str:
    """``20261123-101500-<hash>.eml``: the Date header (UTC) and a hash of the Message-ID.

    A message without a Message-ID is named by a hash of its bytes instead.
    """
    headers = BytesHeaderParser().parsebytes(message)
    date = _header_date(headers.get("Date"))
    message_id = headers.get("Message-ID")
    source = str(message_id).strip().encode() if message_id else message
    digest = hashlib.sha256(source).hexdigest()[:20]
    return f"{date:%Y%m%d-%H%M%S}-{digest}.eml"


def _header_date(value: object) -> dt.datetime:
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    if value is None:
        return epoch
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return epoch
    if parsed.tzinfo is None:
        return parsed
    return parsed.astimezone(dt.UTC)


class SMTPMailer:
    """Hands messages to an SMTP server (a relay, or SES's SMTP interface).

    Credentials are only sent over STARTTLS, except to a server on this
    machine; asking otherwise is a configuration error raised at construction.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = True,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        local_hostname: str | None = None,
    ) -> None:
        if username is not None and not starttls and not _is_local(host):
            raise ValueError(
                f"SMTP credentials for {host} need starttls: a password must not cross "
                "the network in clear text"
            )
        if timeout <= 0:
            raise ValueError("the SMTP timeout must be a positive number of seconds")
        self.host = host
        self.port = port
        self.starttls = starttls
        self.username = username
        self._password = password
        self.timeout = timeout
        # The EHLO name; smtplib would otherwise resolve this machine's FQDN.
        self.local_hostname = local_hostname or "localhost"

    def __repr__(self) -> str:
        login = f", username={self.username!r}, password=***" if self.username else ""
        return f"SMTPMailer({self.host!r}, {self.port}, starttls={self.starttls}{login})"

    def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        """Deliver through the server; raises MailError unless every recipient was accepted."""
        if not recipients:
            raise MailError("no recipients", permanent=True)
        where = f"SMTP server {self.host}:{self.port}"
        try:
            with smtplib.SMTP(
                self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname
            ) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self._password or "")
                refused = smtp.sendmail(sender, recipients, message)
        except smtplib.SMTPAuthenticationError as error:
            raise MailError(f"{where} refused the login ({error.smtp_code})") from None
        except smtplib.SMTPNotSupportedError:
            raise MailError(f"{where} does not offer STARTTLS or login") from None
        except smtplib.SMTPRecipientsRefused as error:
            codes = sorted({code for code, _ in error.recipients.values()})
            raise MailError(
                f"{where} refused the recipients ({', '.join(map(str, codes))})",
                permanent=all(_is_permanent(code) for code in codes),
            ) from None
        except smtplib.SMTPDataError as error:
            # The reply to the message itself: a 5xx (spam, size, policy) refuses it for good.
            raise MailError(
                f"{where} refused the message: {error.smtp_code} {_text(error.smtp_error)}",
                permanent=_is_permanent(error.smtp_code),
            ) from None
        except smtplib.SMTPResponseException as error:
            # Greeting, MAIL FROM, RSET…: about the server or the shop's settings, not
            # this message; retried, so mail flows again once they are fixed.
            raise MailError(
                f"{where} answered {error.smtp_code} {_text(error.smtp_error)}"
            ) from None
        except smtplib.SMTPServerDisconnected as error:
            # smtplib reports a read that timed out as a disconnection.
            if isinstance(error.__context__, TimeoutError):
                raise MailError(f"{where} did not answer within {self.timeout:g} s") from None
            raise MailError(f"{where} closed the connection") from None
        except smtplib.SMTPException as error:
            raise MailError(f"{where}: {_text(str(error))}") from None
        except TimeoutError:
            raise MailError(f"{where} did not answer within {self.timeout:g} s") from None
        except ssl.SSLError as error:
            raise MailError(f"{where}: TLS failed ({error.reason or 'handshake'})") from None
        except OSError as error:
            raise MailError(f"cannot connect to {where}: {_reason(error)}") from None
        if refused:
            # Some recipients accepted it, some did not (we only ever send to one).
            # Retrying would send the accepted ones a copy, so a 5xx ends it.
            codes = sorted({code for code, _ in refused.values()})
            raise MailError(
                f"{where} refused some recipients ({', '.join(map(str, codes))})",
                permanent=all(_is_permanent(code) for code in codes),
            )


def _is_permanent(code: int) -> bool:
    """RFC 5321: 5yz is a permanent negative reply, 4yz a transient one."""
    return 500 <= code <= 599


# SES SendEmail errors (botocore's sesv2 model) that refuse this very message, whatever
# is fixed later: retrying the same bytes can only be refused again. The others are
# retried: throttling and quotas (TooManyRequestsException, LimitExceededException),
# and what the merchant fixes for every message at once (AccountSuspendedException,
# SendingPausedException, MailFromDomainNotVerifiedException, NotFoundException),
# like outages, 5xx replies and any code we do not know.
SES_PERMANENT_ERRORS = frozenset({"MessageRejected", "BadRequestException"})
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


class SESClient(Protocol):
    """The one call we make on boto3's ``sesv2`` client."""

    def send_email(self, **request: Any) -> Any: ...


class SESMailer:
    """Hands messages to Amazon SES (API v2 ``SendEmail``, the raw message as it is).

    boto3 is imported, and its client made, at the first send: a Lambda start
    that sends nothing pays nothing for it. Credentials, and the endpoint when
    ``AWS_ENDPOINT_URL`` is set (moto in tests), come from boto3's usual chain.
    Sends are spaced to at most ``max_rate`` per second across threads (SES's
    sandbox allows 1); botocore does not retry, the outbox does.
    """

    def __init__(
        self,
        region: str,
        *,
        client: SESClient | None = None,
        max_rate: float | None = 1.0,
        timeout: float = 10.0,
    ) -> None:
        if not _REGION.fullmatch(region):
            raise ValueError(f"{region!r} is not an AWS region name such as eu-west-3")
        if max_rate is not None and max_rate <= 0:
            raise ValueError("the SES max_rate must be a positive number of messages per second")
        if timeout <= 0:
            raise ValueError("the SES timeout must be a positive number of seconds")
        self.region = region
        self.max_rate = max_rate
        self.timeout = timeout
        self._client = client
        self._lock = threading.Lock()
        self._next_slot = 0.0  # time.monotonic() before which the next send waits

    @classmethod
    def from_url(cls, url: str) -> SESMailer:
        """``ses://REGION`` or ``ses://REGION?max_rate=14`` (COMPTOIR_MAIL_URL's form)."""
        parts = urlsplit(url)
        if parts.scheme != "ses" or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"a SES mail URL looks like ses://eu-west-3, not {url!r}")
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - {"max_rate"})
        if unknown:
            raise ValueError(f"unknown option {unknown[0]!r} in the SES mail URL (max_rate)")
        max_rate = 1.0
        if "max_rate" in query:
            try:
                max_rate = float(query["max_rate"][-1])
            except ValueError:
                raise ValueError("max_rate in the SES mail URL must be a number") from None
        return cls(parts.hostname, max_rate=max_rate)

    def __repr__(self) -> str:
        return f"SESMailer({self.region!r}, max_rate={self.max_rate})"

    def send(self, message: bytes, sender: str, recipients: list[str]) -> None:
        """Deliver through SES; raises MailError (``permanent`` for SES_PERMANENT_ERRORS)."""
        if not recipients:
            raise MailError("no recipients", permanent=True)
        from botocore.exceptions import BotoCoreError, ClientError

        where = f"SES ({self.region})"
        try:
            client = self._client or self._make_client()
            self._wait_for_a_slot()
            client.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": recipients},
                Content={"Raw": {"Data": message}},
            )
        except ClientError as error:
            details = error.response.get("Error", {})
            code = str(details.get("Code") or "unknown error")
            reason = _text(str(details.get("Message") or ""))
            raise MailError(
                f"{where} refused the message: {code}" + (f" ({reason})" if reason else ""),
                permanent=code in SES_PERMANENT_ERRORS,
            ) from None
        except BotoCoreError as error:  # no connection, a timeout, no credentials
            raise MailError(f"{where}: {_text(str(error))}") from None

    def _make_client(self) -> SESClient:
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                # Its own session: boto3's default one is not safe to set up from threads.
                self._client = boto3.session.Session().client(
                    "sesv2",
                    region_name=self.region,
                    config=Config(
                        connect_timeout=self.timeout,
                        read_timeout=self.timeout,
                        retries={"total_max_attempts": 1},
                    ),
                )
            return self._client

    def _wait_for_a_slot(self) -> None:
        """Keep to ``max_rate``: each send takes the next free slot, then waits for it."""
        if self.max_rate is None:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1 / self.max_rate
        if slot > now:
            time.sleep(slot - now)


def _is_local(host: str) -> bool:
    if host.lower() in _LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def _text(reply: bytes | str) -> str:
    """A server's reply, on one short line."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    flat = " ".join(text.split())
    return flat if len(flat) <= 160 else flat[:157] + "..."
