"""``comptoir invoices list|get``: the shop's invoices and credit notes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from comptoir.commands.output import add_format_options, print_json, print_table
from functions.backroom import OperationError
from functions.backroom.invoices import NumberedDocument, get_document, list_documents
from functions.settings import ConfigurationError
from functions.store import StoreError
from shop.invoices import DocumentKind

COLUMNS = ("number", "kind", "date", "order", "customer", "total", "corrects")


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    invoices = commands.add_parser(  # --shop goes with the action: `invoices list --shop X`
        "invoices",
        help="invoices and credit notes: list them, fetch one as a PDF",
        description="Invoices (F-…) and credit notes (A-…), one numbered sequence per year.",
    )
    actions = invoices.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", parents=[common], help="a year's invoices and credit notes, in number order"
    )
    listing.add_argument("--year", type=int, help="the year (default: this year)")
    add_format_options(listing)
    listing.set_defaults(run=_list)
    get = actions.add_parser("get", parents=[common], help="write one document's PDF to a file")
    get.add_argument("number", help="the document's number, e.g. F-2026-000001")
    get.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE", help="the PDF file to write"
    )
    get.set_defaults(run=_get)


def _list(args: argparse.Namespace) -> int:
    from comptoir.backroom import open_backroom

    try:
        backroom = open_backroom(args.shop)
        documents = list_documents(backroom, args.year)
    except (ConfigurationError, OperationError, StoreError) as error:
        print(f"invoices list: {error}", file=sys.stderr)
        return 1
    locale = backroom.shop().config.locale
    rows = [_row(numbered, locale) for numbered in documents]
    if args.json:
        print_json([_json(numbered) for numbered in documents])
    else:
        print_table(rows, COLUMNS, right=("total",))
    return 0


def _get(args: argparse.Namespace) -> int:
    from comptoir.backroom import open_backroom

    try:
        numbered, pdf = get_document(open_backroom(args.shop), args.number)
    except (ConfigurationError, OperationError, StoreError) as error:
        print(f"invoices get: {error}", file=sys.stderr)
        return 1
    try:
        args.output.write_bytes(pdf)
    except OSError as error:
        print(f"invoices get: cannot write {args.output}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"{numbered.number} written to {args.output} ({len(pdf)} bytes).")
    return 0


def _row(numbered: NumberedDocument, locale: str) -> dict[str, str]:
    document = numbered.document
    invoice = document.kind == DocumentKind.INVOICE
    return {
        "number": numbered.number,
        "kind": "invoice" if invoice else "credit note",
        "date": document.issued_on.isoformat(),
        "order": document.order_number,
        "customer": document.buyer.name,
        "total": document.gross.format(locale),
        "corrects": document.corrects or "",
    }


def _json(numbered: NumberedDocument) -> dict[str, object]:
    document = numbered.document
    return {
        "number": numbered.number,
        "kind": document.kind.value,
        "issued_on": document.issued_on.isoformat(),
        "order": document.order_number,
        "session_id": document.session_id,
        "customer": {"name": document.buyer.name, "email": document.buyer.email},
        "currency": document.currency,
        "net": document.net.amount,
        "vat": document.vat.amount,
        "total": document.gross.amount,
        "rates": [
            {"rate": str(r.rate), "net": r.net.amount, "vat": r.vat.amount, "gross": r.gross.amount}
            for r in document.rates
        ],
        "corrects": document.corrects,
    }
