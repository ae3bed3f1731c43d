"""Part of ``comptoir customers`` (see customers.py): GDPR's access, erasure and retention.

``customers export EMAIL``, ``customers forget EMAIL``, ``customers purge --older-than 3y``;
what is erased and what is kept: ``functions.backroom.privacy``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from comptoir.commands.output import add_format_options, print_json, print_table
from functions.backroom import OperationError
from functions.backroom.privacy import Forgotten, cutoff_before, export_person, forget, purge
from functions.settings import ConfigurationError
from functions.store import StoreError
from shop.files import write_atomic

ERRORS = (ConfigurationError, OperationError, StoreError)


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's ``customers`` subcommands to ``sub``."""
    export = sub.add_parser(
        "export",
        parents=[common],
        help="everything held on a person, as JSON (GDPR access request)",
        description="Everything the shop holds on one person: customer record and consent, "
        "orders with their addresses, returns and withdrawals, invoices and credit notes, "
        "e-mails sent to them or about them.",
    )
    export.add_argument("email", help="the person's e-mail address (any case)")
    export.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write the JSON to FILE (default: print)"
    )
    export.set_defaults(run=_export)

    forget_ = sub.add_parser(
        "forget",
        parents=[common],
        help="erase a person's data, keeping the invoices the law requires (GDPR erasure)",
        description="Erase a person: their customer record and consent are deleted; their "
        "orders and returns keep only what the accounting needs, under a pseudonym; e-mails "
        "to or about them are deleted from the outbox and its folder. Invoices and credit "
        "notes are kept as issued (10 years, French law). Running it again changes nothing.",
    )
    forget_.add_argument("email", help="the person's e-mail address (any case)")
    forget_.add_argument(
        "--force",
        action="store_true",
        help="forget even with an order still to deliver or a return still open",
    )
    add_format_options(forget_)
    forget_.set_defaults(run=_forget)

    purge_ = sub.add_parser(
        "purge",
        parents=[common],
        help="forget everyone whose last order or consent is older than an age (retention)",
        description="Forget, as `customers forget` does, every prospect and customer whose "
        "last order, consent or update is older than --older-than. People with an order to "
        "deliver or a return open are skipped.",
    )
    purge_.add_argument(
        "--older-than",
        required=True,
        metavar="AGE",
        help="e.g. 3y (years), 18m (months), 6w (weeks), 90d (days)",
    )
    purge_.add_argument(
        "--dry-run", action="store_true", help="list who would be forgotten, change nothing"
    )
    add_format_options(purge_)
    purge_.set_defaults(run=_purge)


def _export(args: argparse.Namespace) -> int:
    from comptoir.backroom import open_backroom

    try:
        exported = export_person(open_backroom(args.shop), args.email)
    except ERRORS as error:
        print(f"customers export: {error}", file=sys.stderr)
        return 1
    if args.output is None:
        print_json(exported)
        return 0
    text = json.dumps(exported, ensure_ascii=False, indent=2, default=str) + "\n"
    try:
        write_atomic(args.output, text.encode(), mode=0o600)  # personal data
    except OSError as error:
        print(f"customers export: cannot write {args.output}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"Everything held on {exported['email']} written to {args.output}.")
    return 0


def _forget(args: argparse.Namespace) -> int:
    from comptoir.backroom import open_backroom, outbox_folder

    try:
        done = forget(
            open_backroom(args.shop), args.email, outbox_folder(args.shop), force=args.force
        )
    except ERRORS as error:
        print(f"customers forget: {error}", file=sys.stderr)
        return 1
    if args.json:
        print_json(_forgotten_json(done))
    elif not done.changed:
        print(f"Nothing held on {done.email} any more (forgotten as {done.pseudonym}).")
    else:
        report = done.report
        print(
            f"Forgotten as {done.pseudonym}: customer record "
            f"{'deleted' if report.customer else 'absent'}, {report.orders} order(s) and "
            f"{report.returns} return(s) anonymised, {report.mails} e-mail(s) erased, "
            f"{len(done.files)} file(s) deleted from the outbox folder; "
            f"{len(done.kept_documents)} invoice(s)/credit note(s) kept as issued (the law)."
        )
    return 0


def _purge(args: argparse.Namespace) -> int:
    from comptoir.backroom import open_backroom, outbox_folder

    try:
        backroom = open_backroom(args.shop)
        cutoff = cutoff_before(backroom.now(), args.older_than)
    except ValueError as error:
        print(f"customers purge: --older-than: {error}", file=sys.stderr)
        return 1
    except ERRORS as error:
        print(f"customers purge: {error}", file=sys.stderr)
        return 1

    def progress(done: int, total: int) -> None:
        print(f"forgetting: {done}/{total}", file=sys.stderr, flush=True)

    try:
        result = purge(
            backroom, cutoff, outbox_folder(args.shop), dry_run=args.dry_run, progress=progress
        )
    except ERRORS as error:
        print(f"customers purge: {error}", file=sys.stderr)
        return 1
    people = [
        {"email": c.email, "last_seen": c.last_seen.date().isoformat()} for c in result.candidates
    ]
    if args.json:
        print_json(
            {
                "cutoff": cutoff.isoformat(),
                "dry_run": args.dry_run,
                "people": people if args.dry_run else len(people),
                "forgotten": len(result.forgotten),
                "skipped": [{"email": e, "why": why} for e, why in result.skipped],
            }
        )
        return 0
    if args.dry_run:
        print_table(people, ("email", "last_seen"), {"last_seen": "last seen"})
        print(f"{len(people)} person(s) not seen since {cutoff.date().isoformat()} (dry run).")
        return 0
    print(
        f"{len(result.forgotten)} person(s) not seen since {cutoff.date().isoformat()} "
        f"forgotten; {len(result.skipped)} skipped."
    )
    for email, why in result.skipped:
        print(f"  skipped {email}: {why}")
    return 0


def _forgotten_json(done: Forgotten) -> dict[str, Any]:
    report = done.report
    return {
        "email": done.email,
        "pseudonym": done.pseudonym,
        "customer_deleted": report.customer,
        "orders": report.orders,
        "returns": report.returns,
        "mails": report.mails,
        "files": list(done.files),
        "kept_documents": list(done.kept_documents),
    }
