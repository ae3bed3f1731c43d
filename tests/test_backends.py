"""The back-ends chosen by configuration (functions/backends.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.backends import describe_mail, mailer_for, store_for
from functions.mailers import OutboxMailer, SESMailer, SMTPMailer
from functions.settings import ConfigurationError, Settings, from_environment
from functions.sqlite_store import SQLiteStore

KEYS = {"STRIPE_SECRET_KEY": "sk_test_51Habc", "STRIPE_WEBHOOK_SECRET": "whsec_abc"}


def settings(tmp_path: Path, **env: str) -> Settings:
    return from_environment(tmp_path, {**KEYS, **env})


def test_no_mail_address_writes_to_the_outbox_folder(tmp_path: Path) -> None:
    chosen = settings(tmp_path, COMPTOIR_OUTBOX=str(tmp_path / "mails"))
    mailer = mailer_for(chosen)
    assert isinstance(mailer, OutboxMailer) and mailer.folder == tmp_path / "mails"
    assert describe_mail(chosen) == str(tmp_path / "mails")


def test_an_smtp_address_with_starttls_and_credentials(tmp_path: Path) -> None:
    address = "smtp+starttls://shop%40mini.example:s3cr%2Ft@smtp.mini.example:587"
    chosen = settings(tmp_path, COMPTOIR_MAIL_URL=address)
    mailer = mailer_for(chosen)
    assert isinstance(mailer, SMTPMailer)
    assert (mailer.host, mailer.port, mailer.starttls) == ("smtp.mini.example", 587, True)
    assert mailer.username == "shop@mini.example"
    assert describe_mail(chosen) == "smtp+starttls://smtp.mini.example:587"
    assert "s3cr" not in repr(chosen) and "s3cr" not in repr(mailer)


def test_the_former_smtp_variable_still_works_and_the_new_one_wins(tmp_path: Path) -> None:
    old = mailer_for(settings(tmp_path, COMPTOIR_SMTP_URL="smtp://127.0.0.1:2525"))
    assert isinstance(old, SMTPMailer) and (old.host, old.port) == ("127.0.0.1", 2525)
    both = settings(
        tmp_path, COMPTOIR_SMTP_URL="smtp://127.0.0.1:2525", COMPTOIR_MAIL_URL="smtp://relay:25"
    )
    new = mailer_for(both)
    assert isinstance(new, SMTPMailer) and new.host == "relay"


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("ftp://user:hunter2@relay", "unknown kind of mail address 'ftp:'"),
        ("smtp://user:hunter2@relay:notaport", "is not a mail address"),
        ("smtp://user:hunter2@relay.example:25", "need starttls"),
        ("smtp://", "unknown kind of mail address 'smtp:'"),
    ],
)
def test_a_wrong_mail_address_is_refused_without_its_password(
    tmp_path: Path, address: str, says: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        mailer_for(settings(tmp_path, COMPTOIR_MAIL_URL=address))
    assert says in str(refused.value) and "hunter2" not in str(refused.value)


def test_a_path_is_a_sqlite_store_in_a_folder_made_for_it(tmp_path: Path) -> None:
    chosen = settings(tmp_path, COMPTOIR_STORE=str(tmp_path / "new" / "shop.sqlite3"))
    store = store_for(chosen)
    try:
        assert isinstance(store, SQLiteStore) and store.path == tmp_path / "new" / "shop.sqlite3"
        assert (tmp_path / "new").is_dir()
    finally:
        store.close()


def test_an_unknown_kind_of_store_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown kind of store 'redis://'; use a SQLite"):
        store_for(settings(tmp_path, COMPTOIR_STORE="redis://cache:6379"))


def test_an_ses_address_sends_through_amazon_ses_at_its_rate(tmp_path: Path) -> None:
    mailer = mailer_for(settings(tmp_path, COMPTOIR_MAIL_URL="ses://eu-west-3?max_rate=14"))
    assert isinstance(mailer, SESMailer)
    assert (mailer.region, mailer.max_rate) == ("eu-west-3", 14.0)
    assert describe_mail(settings(tmp_path, COMPTOIR_MAIL_URL="ses://eu-west-3")) == (
        "ses://eu-west-3"
    )
    with pytest.raises(ConfigurationError, match=r"COMPTOIR_MAIL_URL: unknown option 'rate'"):
        mailer_for(settings(tmp_path, COMPTOIR_MAIL_URL="ses://eu-west-3?rate=2"))
