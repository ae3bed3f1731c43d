"""``comptoir export orders|journal|vat``: what the accountant asks for.

- ``orders``: a CSV of the period's order lines (HT, VAT rate, VAT, TTC, shipping,
  discount, Stripe's payment reference);
- ``journal``: the sales journal in the columns of the French FEC (tab-separated by
  default, ``--separator pipe`` for ``|``; dates YYYYMMDD, amounts with a comma);
- ``vat``: a month's VAT collected per rate, credit notes deducted, with the CA3 line.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from comptoir.commands.output import print_json, print_table
from functions.backroom import BackRoom, OperationError
from functions.backroom import accounting as operations
from functions.settings import ConfigurationError
from functions.store import StoreError
from shop.accounting import FEC_COLUMNS, decimal_text, fec_rows, totals

ORDER_COLUMNS = (
    "order",
    "date",
    "status",
    "sku",
    "title",
    "quantity",
    "unit_price_ttc",
    "discount_ttc",
    "net_ht",
    "vat_rate",
    "vat",
    "total_ttc",
    "shipping_ttc",
    "currency",
    "payment_reference",
)
SEPARATORS = {"tab": "\t", "pipe": "|"}


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    export = commands.add_parser(
        "export",
        help="accounting exports: order lines, the sales journal (FEC), VAT per rate",
        description="Exports for the accountant, from the orders and the issued invoices.",
    )
    actions = export.add_subparsers(dest="action", metavar="ACTION", required=True)

    orders = actions.add_parser(
        "orders",
        parents=[common],
        help="CSV of the order lines of a period (HT, VAT, TTC, shipping, payment)",
        description="One CSV line per order line, for orders paid in the period. The "
        "shipping of an order is on its first line only, so columns add up.",
    )
    _period(orders)
    orders.add_argument("--json", action="store_true", help="print JSON instead of CSV")
    _output(orders)
    orders.set_defaults(run=_orders)

    journal = actions.add_parser(
        "journal",
        parents=[common],
        help="the sales journal of a period, in the FEC's 18 columns",
        description="One entry per invoice and per credit note (411 / 707-7085 / 44571), "
        "balanced. Stripe's fees are not known to comptoir yet, so none is booked. Name "
        "the file as the FEC wants it: <SIREN>FEC<closing date YYYYMMDD>.txt.",
    )
    _period(journal)
    journal.add_argument(
        "--separator",
        choices=tuple(SEPARATORS),
        default="tab",
        help="between columns: a tab (default) or a pipe |",
    )
    _output(journal)
    journal.set_defaults(run=_journal)

    vat = actions.add_parser(
        "vat",
        parents=[common],
        help="a month's VAT collected per rate, the figures of a CA3 return",
        description="Bases HT and VAT per rate for the invoices and credit notes of a "
        "month (credit notes deducted), with the CA3 line each rate goes on.",
    )
    vat.add_argument("--month", required=True, metavar="YYYY-MM", help="e.g. 2026-03")
    vat.add_argument("--json", action="store_true", help="print JSON instead of a table")
    vat.set_defaults(run=_vat)


def _period(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="since", required=True, metavar="DATE", help="first day, YYYY-MM-DD"
    )
    parser.add_argument(
        "--to", dest="until", required=True, metavar="DATE", help="last day, YYYY-MM-DD"
    )


def _output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write to FILE (default: print)"
    )


def _day(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise OperationError(
            "invalid_date", f"{option} {text!r}: write a day as 2026-03-31"
        ) from None


def _run(args: argparse.Namespace, name: str, work: Callable[[BackRoom], str]) -> int:
    from comptoir.backroom import open_backroom

    try:
        text = work(open_backroom(args.shop))
    except (ConfigurationError, OperationError, StoreError) as error:
        print(f"export {name}: {error}", file=sys.stderr)
        return 1
    output: Path | None = getattr(args, "output", None)
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        output.write_text(text, encoding="utf-8", newline="")
    except OSError as error:
        print(f"export {name}: cannot write {output}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"export {name}: written to {output}.", file=sys.stderr)
    return 0


def _orders(args: argparse.Namespace) -> int:
    def work(backroom: BackRoom) -> str:
        start, end = _day(args.since, "--from"), _day(args.until, "--to")
        rows = operations.order_lines(backroom, start, end)
        records: list[dict[str, Any]] = []
        for row in rows:
            currency = row.gross.currency
            records.append(
                {
                    "order": row.order,
                    "date": row.date.isoformat(),
                    "status": row.status,
                    "sku": row.sku,
                    "title": row.title,
                    "quantity": row.quantity,
                    "unit_price_ttc": decimal_text(row.unit_price.amount, currency),
                    "discount_ttc": decimal_text(row.discount.amount, currency),
                    "net_ht": decimal_text(row.net.amount, currency),
                    "vat_rate": f"{row.rate.normalize():f}",
                    "vat": decimal_text(row.vat.amount, currency),
                    "total_ttc": decimal_text(row.gross.amount, currency),
                    "shipping_ttc": ""
                    if row.shipping is None
                    else decimal_text(row.shipping.amount, currency),
                    "currency": currency,
                    "payment_reference": row.payment,
                }
            )
        out = io.StringIO()
        if args.json:
            print_json(records, out)
        else:
            writer = csv.DictWriter(out, ORDER_COLUMNS, lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(records)
        return out.getvalue()

    return _run(args, "orders", work)


def _journal(args: argparse.Namespace) -> int:
    def work(backroom: BackRoom) -> str:
        start, end = _day(args.since, "--from"), _day(args.until, "--to")
        entries = operations.journal(backroom, start, end)
        unbalanced = [e.number for e in entries if not e.balanced]
        if unbalanced:  # cannot happen with documents as issued; never export one
            raise OperationError(
                "unbalanced", f"entries {', '.join(unbalanced)} do not balance: report this bug"
            )
        debit, credit = totals(entries)
        assert debit == credit
        separator = SEPARATORS[args.separator]
        lines = [separator.join(FEC_COLUMNS)]
        for row in fec_rows(entries, backroom.shop().config.currency):
            lines.append(separator.join(cell.replace(separator, " ") for cell in row))
        return "\r\n".join(lines) + "\r\n"

    return _run(args, "journal", work)


def _vat(args: argparse.Namespace) -> int:
    def work(backroom: BackRoom) -> str:
        start, end, rates = operations.vat_for_month(backroom, args.month)
        out = io.StringIO()
        if args.json:
            print_json(
                {
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "rates": [
                        {
                            "rate": f"{r.rate.normalize():f}",
                            "ca3_line": r.ca3_line,
                            "currency": r.currency,
                            "invoiced_net": r.invoiced_net,
                            "invoiced_vat": r.invoiced_vat,
                            "credited_net": r.credited_net,
                            "credited_vat": r.credited_vat,
                            "net": r.net,
                            "vat": r.vat,
                        }
                        for r in rates
                    ],
                    "vat": sum(r.vat for r in rates),
                },
                out,
            )
            return out.getvalue()
        out.write(f"VAT collected from {start} to {end} (credit notes deducted)\n\n")
        rows = [
            {
                "rate": f"{r.rate.normalize():f} %",
                "CA3 line": r.ca3_line,
                "base HT": decimal_text(r.net, r.currency),
                "VAT": decimal_text(r.vat, r.currency),
                "invoiced HT": decimal_text(r.invoiced_net, r.currency),
                "credited HT": decimal_text(r.credited_net, r.currency),
            }
            for r in rates
        ]
        columns = ("rate", "CA3 line", "base HT", "VAT", "invoiced HT", "credited HT")
        print_table(rows, columns, right=columns[2:], out=out)
        if rates:
            currency = rates[0].currency
            out.write(
                f"\nVAT due: {decimal_text(sum(r.vat for r in rates), currency)} {currency}\n"
            )
        else:
            out.write("\nNo invoice or credit note this month.\n")
        return out.getvalue()

    return _run(args, "vat", work)
