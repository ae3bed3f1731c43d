"""The back-ends chosen by configuration: the store from COMPTOIR_STORE, the mailer from
COMPTOIR_MAIL_URL. One place for each choice, shared by ``comptoir serve`` and Lambda.

Adding a back-end is one more branch below;
an address no branch knows is a ConfigurationError listing the ones that exist.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from functions.mailer import Mailer
from functions.mailers import OutboxMailer, SESMailer, SMTPMailer
from functions.settings import ConfigurationError, Settings
from functions.sqlite_store import SQLiteStore
from functions.store import Store

STORE_CHOICES = "a SQLite file's path (e.g. var/comptoir.sqlite3) or dynamodb://TABLE"
MAIL_CHOICES = (
    "ses://REGION (Amazon SES), smtp://host:port or smtp+starttls://user:password@host:port "
    "(unset: the outbox folder)"
)
# "scheme://": anything else is a path. A Windows drive ("C:\\…") has no "//" after its colon.
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*)://", re.IGNORECASE)


def store_for(settings: Settings, *, local: bool = False) -> Store:
    """The store COMPTOIR_STORE names; raises ConfigurationError for an unknown kind.

    ``local`` (``comptoir serve``) creates a missing DynamoDB table, for moto or DynamoDB
    Local; deployed functions never do: their table comes from template.yaml.
    """
    scheme = _SCHEME.match(settings.store)
    if scheme is None:
        settings.store_path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteStore(settings.store_path)
    if scheme.group(1).lower() == "dynamodb":
        table = settings.store[scheme.end() :].strip("/")
        if not table:
            raise ConfigurationError("COMPTOIR_STORE: name the table, as in dynamodb://comptoir")
        from functions.dynamodb_store import DynamoDBStore  # boto3: only when it is used

        return DynamoDBStore(table, create_table=local)
    raise ConfigurationError(
        f"COMPTOIR_STORE: unknown kind of store '{scheme.group(1)}://'; use {STORE_CHOICES}"
    )


def mailer_for(settings: Settings) -> Mailer:
    """The mailer COMPTOIR_MAIL_URL names: SMTP (smtp://host:port,
    smtp+starttls://user:password@host:port), or ``.eml`` files in the outbox folder
    when unset. Raises ConfigurationError, never quoting the address (it may hold a password).
    """
    if not settings.mail_url:
        return OutboxMailer(settings.outbox_dir)
    try:
        url = urlsplit(settings.mail_url)
        port = url.port
    except ValueError:  # a port that is not a number
        raise ConfigurationError(
            f"COMPTOIR_MAIL_URL is not a mail address: use {MAIL_CHOICES}"
        ) from None
    if url.scheme == "ses":
        try:
            return SESMailer.from_url(settings.mail_url)
        except ValueError as error:
            raise ConfigurationError(f"COMPTOIR_MAIL_URL: {error}") from None
    if url.scheme not in ("smtp", "smtp+starttls") or not url.hostname:
        raise ConfigurationError(
            f"COMPTOIR_MAIL_URL: unknown kind of mail address '{url.scheme}:'; use {MAIL_CHOICES}"
        )
    try:
        return SMTPMailer(
            url.hostname,
            port or 25,
            starttls=url.scheme == "smtp+starttls",
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
        )
    except ValueError as error:  # e.g. a password over a connection in clear text
        raise ConfigurationError(f"COMPTOIR_MAIL_URL: {error}") from None


def describe_mail(settings: Settings) -> str:
    """Where e-mails go, for a start-up line: the address without its user or password."""
    if not settings.mail_url:
        return str(settings.outbox_dir)
    url = urlsplit(settings.mail_url)
    try:
        port = f":{url.port}" if url.port else ""
    except ValueError:
        port = ""
    return f"{url.scheme}://{url.hostname or '?'}{port}"
