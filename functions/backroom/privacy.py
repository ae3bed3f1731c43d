"""Personal data (GDPR): what is held on a person, erasing it, and the retention purge.

What ``forget`` erases and what it keeps (the shop's privacy page says the same):

- the customer record (name, marketing consent and its date): deleted;
- each of their orders: kept for the accounting, but the e-mail becomes a pseudonym
  (``forgotten-<hash>@invalid``, the same for one address whatever its case, so
  forgetting twice changes nothing), the name and the postal address are erased (the
  country stays: it fixed the VAT), the marketing consent is dropped; amounts, lines,
  dates, shipments (carrier, tracking number) and refunds stay;
- the returns and withdrawals of those orders: the contact name and address erased;
- the outbox mails to them or about them (the merchant's notices of their orders): the
  message is deleted (its key stays, so it is never queued again) and one not yet sent
  is never sent; the ``.eml`` copies in the outbox folder are deleted;
- invoices and credit notes: kept as issued, buyer's name, e-mail and address included.
  French law wants accounting documents kept ten years (Code de commerce L123-22) and
  invoices kept as issued (CGI art. 289 and L102 B of the Livre des procédures
  fiscales): the GDPR's erasure yields to a legal obligation (art. 17(3)(b)).

A person with an order still to fulfil (pending, paid, oversold) or a return still open
is not forgotten unless asked to (``force``): their address is needed to deliver.

The purge forgets everyone not seen since a cutoff: their last order, consent or
customer record update is older (``Store.list_people_for_purge``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from functions.backroom.context import BackRoom, OperationError
from functions.backroom.invoices import MAX_CREDIT_NOTES, credit_note_key, invoice_key
from functions.mailers import eml_name
from functions.store import (
    ForgetReport,
    IssuedDocument,
    OutgoingMail,
    PersonalData,
    PurgeCandidate,
    person_key,
    pseudonym_for,
)
from shop.orders import Order, OrderStatus, encode_order
from shop.returns import ReturnStatus, encode_return

# Orders whose goods are still to be delivered: their address is still needed.
OPEN_ORDERS = frozenset({OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.OVERSOLD})
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")
_AGE = re.compile(r"^\s*(\d+)\s*([ymwd])\s*$", re.IGNORECASE)
PURGE_LIMIT = 100_000  # people one purge goes through


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What ``forget`` did for one person."""

    email: str
    pseudonym: str
    report: ForgetReport
    files: tuple[str, ...]  # .eml files deleted from the outbox folder
    kept_documents: tuple[str, ...]  # the keys of the invoices and credit notes kept

    @property
    def changed(self) -> bool:
        return self.report.changed or bool(self.files)


@dataclass(frozen=True, slots=True)
class PurgeResult:
    candidates: tuple[PurgeCandidate, ...]
    forgotten: tuple[Forgotten, ...] = ()
    skipped: tuple[tuple[str, str], ...] = field(default=())  # (email, why)


def address_of(email: str) -> str:
    """``email`` as people are filed (lower case), or OperationError if it is no address."""
    person = person_key(email)
    if not _ADDRESS.match(person):
        raise OperationError(
            "not_an_address", f"{email.strip()!r} is not an e-mail address, such as lea@example.fr"
        )
    return person


# -- access ------------------------------------------------------------------------


def export_person(backroom: BackRoom, email: str) -> dict[str, Any]:
    """Everything the shop holds on ``email``, as JSON-able data (GDPR art. 15 and 20)."""
    person = address_of(email)
    data = backroom.store.personal_data(person)
    customer = data.customer
    return {
        "email": person,
        "exported_at": backroom.now().isoformat(),
        "customer": None
        if customer is None
        else {
            "email": customer.email,
            "name": customer.name,
            "marketing_consent": customer.marketing_consent,
            "consent_at": None if customer.consent_at is None else customer.consent_at.isoformat(),
            "created_at": customer.created_at.isoformat(),
            "updated_at": customer.updated_at.isoformat(),
        },
        "orders": [encode_order(order) for order in data.orders],
        "returns": [encode_return(ret) for ret in data.returns],
        "documents": [
            {"key": d.key, "year": d.year, "sequence": d.sequence, "body": dict(d.body)}
            for d in _documents(backroom, data.orders)
        ],
        "mails": [_mail_summary(mail) for mail in data.mails],
    }


def _documents(backroom: BackRoom, orders: tuple[Order, ...]) -> Iterator[IssuedDocument]:
    """The invoices and credit notes of these orders."""
    for order in orders:
        invoice = backroom.store.find_document(invoice_key(order.session_id))
        if invoice is not None:
            yield invoice
        for index in range(1, MAX_CREDIT_NOTES + 1):
            note = backroom.store.find_document(credit_note_key(order.session_id, index))
            if note is None:
                break
            yield note


def _mail_summary(mail: OutgoingMail) -> dict[str, Any]:
    """A mail's metadata: to whom, about what, when (its body is the order's, exported)."""
    subject = ""
    if mail.message:
        subject = str(message_from_bytes(mail.message, policy=policy.default).get("Subject", ""))
    return {
        "key": mail.key,
        "to": mail.to,
        "about": mail.about or None,
        "subject": subject,
        "attempts": mail.attempts,
        "sent_at": None if mail.sent_at is None else mail.sent_at.isoformat(),
        "last_error": mail.last_error,
    }


# -- erasure -----------------------------------------------------------------------


def forget(
    backroom: BackRoom, email: str, outbox: Path | None, *, force: bool = False
) -> Forgotten:
    """Erase ``email`` as the module says; ``outbox``: the folder of ``.eml`` files.

    Idempotent. Refuses (OperationError ``still_open``) a person with an order to
    deliver or a return open, unless ``force``.
    """
    person = address_of(email)
    data = backroom.store.personal_data(person)
    if not force:
        _refuse_if_open(data)
    kept = tuple(d.key for d in _documents(backroom, data.orders))
    # The files first: their names come from the messages the store is about to empty.
    files = _delete_files(outbox, person, data.mails)
    report = backroom.store.forget_customer(person, pseudonym_for(person), backroom.now())
    return Forgotten(person, pseudonym_for(person), report, files, kept)


def _refuse_if_open(data: PersonalData) -> None:
    open_orders = [o.number for o in data.orders if o.status in OPEN_ORDERS]
    open_returns = [r.rid for r in data.returns if r.status != ReturnStatus.REFUNDED]
    if open_orders or open_returns:
        pending = ", ".join(open_orders + open_returns)
        raise OperationError(
            "still_open",
            f"still to deliver or refund: {pending}; their address is needed until then. "
            "Ship or cancel first, or forget anyway with --force.",
        )


def _delete_files(
    outbox: Path | None, person: str, mails: tuple[OutgoingMail, ...]
) -> tuple[str, ...]:
    """Delete the outbox folder's copies of the person's mails: those the store names,
    and any other ``.eml`` file addressed to them, replying to them or naming them."""
    if outbox is None or not outbox.is_dir():
        return ()
    names = {eml_name(mail.message) for mail in mails if mail.message}
    deleted = []
    for path in sorted(outbox.glob("*.eml")):
        if path.name in names or _names_person(path, person):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as error:
                raise OperationError(
                    "outbox_unwritable", f"cannot delete {path}: {error.strerror}"
                ) from None
            deleted.append(path.name)
    return tuple(deleted)


def _names_person(path: Path, person: str) -> bool:
    try:
        raw = path.read_bytes()
    except OSError:
        return False
    if person.encode() in raw.lower():
        return True
    message = message_from_bytes(raw, policy=policy.default)
    headers = [str(message.get(h, "")) for h in ("To", "Cc", "Reply-To", "From")]
    if any(person_key(address) == person for _, address in getaddresses(headers)):
        return True
    assert isinstance(message, EmailMessage)
    for part in message.walk():
        if part.get_content_maintype() == "text":
            try:
                text = str(part.get_content())
            except (LookupError, ValueError):
                continue
            if person in text.lower():
                return True
    return False


# -- retention ---------------------------------------------------------------------


def cutoff_before(now: dt.datetime, age: str) -> dt.datetime:
    """``now`` minus ``age``: ``3y``, ``18m`` (months), ``6w``, ``90d``; ValueError else."""
    found = _AGE.match(age)
    if found is None or int(found.group(1)) < 1:
        raise ValueError(f"{age!r} is not an age such as 3y, 18m, 6w or 90d")
    count, unit = int(found.group(1)), found.group(2).lower()
    if unit == "d":
        return now - dt.timedelta(days=count)
    if unit == "w":
        return now - dt.timedelta(weeks=count)
    months = count * (12 if unit == "y" else 1)
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    day = min(now.day, _days_in(year, month + 1))
    return now.replace(year=year, month=month + 1, day=day)


def _days_in(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


def purge(
    backroom: BackRoom,
    cutoff: dt.datetime,
    outbox: Path | None,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PurgeResult:
    """Forget everyone not seen since ``cutoff`` (``dry_run``: only list them). Those with
    an order to deliver or a return open are skipped, and said so. ``progress(done, total)``
    is called after each person."""
    candidates = tuple(backroom.store.list_people_for_purge(cutoff, limit=PURGE_LIMIT))
    if dry_run:
        return PurgeResult(candidates)
    forgotten, skipped = [], []
    for done, candidate in enumerate(candidates, start=1):
        try:
            forgotten.append(forget(backroom, candidate.email, outbox))
        except OperationError as error:
            skipped.append((candidate.email, error.message))
        if progress is not None:
            progress(done, len(candidates))
    return PurgeResult(candidates, tuple(forgotten), tuple(skipped))
