"""Part of ``comptoir customers`` (see customers.py): ``list``, ``segments``,
``export-marketing`` and ``unsubscribe`` — who buys, grouped for a campaign, and the
mailing list of those who agreed to it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from comptoir.commands.output import add_format_options, print_csv, print_json, print_table
from functions.backroom import BackRoom, OperationError
from functions.backroom.customer_lists import (
    Contact,
    buyers,
    marketing_contacts,
    unsubscribe,
)
from functions.settings import ConfigurationError
from functions.store import StoreError
from shop.segments import SEGMENT_ORDER, Buyer

SEGMENTS = ", ".join(s.value for s in SEGMENT_ORDER)
# The columns each service's contact import documents (Brevo: attributes in capitals;
# Mailchimp: its audience fields' names). Consent date and source are kept as extra
# columns, mapped to custom fields at import, as proof of consent.
FORMATS: dict[str, tuple[str, ...]] = {
    "brevo": ("EMAIL", "FIRSTNAME", "LASTNAME", "OPT_IN_DATE", "OPT_IN_SOURCE", "SEGMENT"),
    "mailchimp": (
        "Email Address",
        "First Name",
        "Last Name",
        "Opt-in Time",
        "Opt-in Source",
        "Tags",
    ),
}


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's ``customers`` subcommands to ``sub``."""
    listing = sub.add_parser(
        "list",
        parents=[common],
        help="buyers with their orders, spend, last order and segment",
        description=f"Every buyer, biggest spenders first. Segments: {SEGMENTS} "
        "(see docs/customers.md).",
    )
    listing.add_argument("--segment", metavar="S", help=f"only this segment: {SEGMENTS}")
    add_format_options(listing, csv_too=True)
    listing.set_defaults(run=_operation(_list))

    segments = sub.add_parser(
        "segments",
        parents=[common],
        help="how many buyers in each segment (new, loyal, big spenders, at risk, lost)",
        description="Buyers grouped by recency, frequency and spend (RFM); the rules are "
        "in docs/customers.md.",
    )
    add_format_options(segments)
    segments.set_defaults(run=_operation(_segments))

    export = sub.add_parser(
        "export-marketing",
        parents=[common],
        help="CSV of the customers who agreed to marketing e-mails, for Brevo or Mailchimp",
        description="Only customers who gave marketing consent at checkout and did not "
        "withdraw it, with the date and source of their consent.",
    )
    export.add_argument("--segment", metavar="S", help=f"only this segment: {SEGMENTS}")
    export.add_argument("--format", choices=sorted(FORMATS), default="brevo")
    export.add_argument("--output", "-o", metavar="FILE", type=Path, help="write to FILE")
    export.set_defaults(run=_operation(_export))

    stop = sub.add_parser(
        "unsubscribe",
        parents=[common],
        help="withdraw someone's marketing consent (they leave every mailing list)",
    )
    stop.add_argument("email", metavar="EMAIL")
    add_format_options(stop)
    stop.set_defaults(run=_operation(_unsubscribe))


def _operation(work: Callable[[BackRoom, argparse.Namespace], int]) -> Callable[..., int]:
    def run(args: argparse.Namespace) -> int:
        from comptoir.backroom import open_backroom

        try:
            room = open_backroom(args.shop)
        except ConfigurationError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        try:
            return work(room, args)
        except (OperationError, StoreError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            room.store.close()

    return run


def _buyer_row(buyer: Buyer, locale: str) -> dict[str, Any]:
    return {
        "email": buyer.email,
        "name": buyer.name,
        "segment": buyer.segment.value,
        "orders": buyer.orders,
        "spent": buyer.spent.format(locale),
        "spent_amount": buyer.spent.to_text(),
        "last_order": buyer.last_order.strftime("%Y-%m-%d"),
        "days_since": buyer.recency_days,
    }


def _list(room: BackRoom, args: argparse.Namespace) -> int:
    found = buyers(room, args.segment)
    locale = room.shop().config.locale
    rows = [_buyer_row(b, locale) for b in found]
    if args.json:
        print_json(rows)
    elif args.csv:
        print_csv(rows, ["email", "name", "segment", "orders", "spent_amount", "last_order"])
    elif not rows:
        print("No buyer" + (f" in segment {args.segment}." if args.segment else " yet."))
    else:
        columns = ["name", "email", "segment", "orders", "spent", "last_order", "days_since"]
        print_table(rows, columns, right=["orders", "spent", "days_since"])
    return 0


def _segments(room: BackRoom, args: argparse.Namespace) -> int:
    found = buyers(room)
    currency, locale = room.shop().config.currency, room.shop().config.locale
    rows = []
    for segment in SEGMENT_ORDER:
        members = [b for b in found if b.segment == segment]
        spent = sum(b.spent.amount for b in members)
        rows.append(
            {
                "segment": segment.value,
                "buyers": len(members),
                "spent_amount": spent,
                "spent": _money(spent, currency, locale),
            }
        )
    if args.json:
        print_json({"currency": currency, "segments": rows})
    else:
        print_table(rows, ["segment", "buyers", "spent"], right=["buyers", "spent"])
        print("\nRules: docs/customers.md; list one with `comptoir customers list --segment S`.")
    return 0


def _money(amount: int, currency: str, locale: str) -> str:
    from shop.money import Money

    return Money(amount, currency).format(locale)


def marketing_row(contact: Contact, fmt: str) -> list[str]:
    customer, buyer = contact.customer, contact.buyer
    first, _, last = customer.name.strip().partition(" ")
    consent_at = "" if customer.consent_at is None else customer.consent_at.isoformat()
    source = customer.consent_source or "checkout"
    segment = "" if buyer is None else buyer.segment.value
    if fmt == "mailchimp":  # Mailchimp reads "YYYY-MM-DD HH:MM:SS" opt-in times
        consent_at = (
            "" if customer.consent_at is None else customer.consent_at.strftime("%Y-%m-%d %H:%M:%S")
        )
    return [customer.email, first, last.strip(), consent_at, source, segment]


def _export(room: BackRoom, args: argparse.Namespace) -> int:
    import csv

    contacts = marketing_contacts(room, args.segment)
    stream = sys.stdout
    handle = None
    if args.output is not None:
        try:
            handle = stream = args.output.open("w", encoding="utf-8", newline="")
        except OSError as error:
            print(f"error: cannot write {args.output}: {error.strerror}", file=sys.stderr)
            return 1
    try:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(FORMATS[args.format])
        for contact in contacts:
            writer.writerow(marketing_row(contact, args.format))
    finally:
        if handle is not None:
            handle.close()
    if args.output is not None:
        print(f"{len(contacts)} consenting contacts written to {args.output}")
    return 0


def _unsubscribe(room: BackRoom, args: argparse.Namespace) -> int:
    done = unsubscribe(room, args.email)
    if args.json:
        print_json({"email": args.email.strip().lower(), "unsubscribed": done})
    elif done:
        print(f"{args.email.strip()}: marketing consent withdrawn; in no mailing list any more.")
    else:
        print(f"{args.email.strip()}: was not subscribed; nothing to do.")
    return 0
