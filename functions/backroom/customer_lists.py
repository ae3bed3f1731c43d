"""Customer lists: buyers by segment (``shop.segments``), and the consented mailing list.

Only customers who said yes to marketing e-mails at checkout, and did not withdraw it, are
ever in a mailing list; someone forgotten (GDPR) has no customer record left, so is never
in one either.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.backroom.context import BackRoom, OperationError
from functions.backroom.reports import ALL
from functions.store import Customer, OrderQuery
from shop.segments import Buyer, Segment, segment_buyers


@dataclass(frozen=True, slots=True)
class Contact:
    """A buyer who agreed to marketing e-mails: who, since when, where they said yes."""

    customer: Customer
    buyer: Buyer | None  # their purchases (None: no paid order left)


def buyers(room: BackRoom, segment: str | None = None) -> list[Buyer]:
    """Every buyer with their segment as of now (or those of ``segment``), best first."""
    wanted = _segment(segment)
    found = segment_buyers(
        room.store.find_orders(OrderQuery(), ALL), room.now(), room.shop().config.currency
    )
    return [b for b in found if wanted is None or b.segment == wanted]


def marketing_contacts(room: BackRoom, segment: str | None = None) -> list[Contact]:
    """The customers who gave marketing consent and did not withdraw it (those forgotten
    have no customer record left: they are never here), of ``segment`` if given."""
    by_email = {b.email: b for b in buyers(room)}
    wanted = _segment(segment)
    contacts = []
    for customer in room.store.list_customers():
        if not customer.marketing_consent:
            continue
        buyer = by_email.get(customer.email)
        if wanted is not None and (buyer is None or buyer.segment != wanted):
            continue
        contacts.append(Contact(customer, buyer))
    return contacts


def unsubscribe(room: BackRoom, email: str) -> bool:
    """Withdraw someone's marketing consent now: False when they were not subscribed."""
    address = email.strip()
    if "@" not in address:
        raise OperationError("bad_email", f"{email!r} is not an e-mail address")
    return room.store.withdraw_consent(address, room.now())


def _segment(name: str | None) -> Segment | None:
    if name is None:
        return None
    try:
        return Segment(name.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        known = ", ".join(s.value for s in Segment)
        raise OperationError(
            "unknown_segment", f"unknown segment {name!r}: use one of {known}"
        ) from None
