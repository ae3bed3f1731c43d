"""``comptoir returns open|receive|list|show``: returns within the legal withdrawal period."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from typing import Any

from comptoir.commands.output import add_format_options, print_csv, print_json, print_table
from functions.backroom import BackRoom, OperationError
from functions.backroom import returns as operations
from shop.returns import ReturnRequest, encode_return

COLUMNS = ("rid", "order", "status", "source", "lines", "requested", "deadline", "refund")
HEADERS = {
    "rid": "Return",
    "order": "Order",
    "status": "Status",
    "source": "From",
    "lines": "Items",
    "requested": "Requested",
    "deadline": "Ask by",
    "refund": "Refunded",
}


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    # --shop goes after the action (`returns open ID --shop DIR`): one place, one default.
    parser = commands.add_parser(
        "returns",
        help="returns and withdrawals: open, receive (restock and refund), list, show",
        description="Returns within the legal withdrawal period: 14 days from delivery to "
        "ask, 14 days to refund once the goods are back.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    sub = actions.add_parser(
        "open",
        parents=[common],
        help="record a return request, if the withdrawal period allows it",
        description="Record that goods of an order come back. Refused after the legal "
        "deadline (14 days from delivery), with the date.",
    )
    sub.add_argument("order", metavar="ID", help="the order's number (or checkout session id)")
    sub.add_argument(
        "--lines",
        default=None,
        metavar="SKU:QTY,…",
        help="what comes back (default: everything not already coming back)",
    )
    sub.add_argument(
        "--delivered",
        default=None,
        metavar="YYYY-MM-DD",
        help="the delivery day the 14 days run from (default: the day the order was "
        "shipped, or else placed, plus 3 days of transit)",
    )
    add_format_options(sub)
    sub.set_defaults(run=_run(_open))

    sub = actions.add_parser(
        "receive",
        parents=[common],
        help="the goods are back: restock them and refund (delivery too for a whole order)",
    )
    sub.add_argument("rid", metavar="RID", help="the return's id, e.g. CT-20260914-3FA2B1-R1")
    add_format_options(sub)
    sub.set_defaults(run=_run(_receive))

    sub = actions.add_parser("list", parents=[common], help="returns, newest first")
    sub.add_argument("--order", metavar="ID", default=None, help="only this order's returns")
    add_format_options(sub, csv_too=True)
    sub.set_defaults(run=_run(_list))

    sub = actions.add_parser("show", parents=[common], help="one return, with its history")
    sub.add_argument("rid", metavar="RID")
    add_format_options(sub)
    sub.set_defaults(run=_run(_show))


def _run(action: Callable[[BackRoom, argparse.Namespace], int]) -> Callable[..., int]:
    """Open the back room, run ``action``, and turn what a merchant can fix into one line."""

    def run(args: argparse.Namespace) -> int:
        from comptoir.backroom import open_backroom
        from functions.settings import ConfigurationError

        try:
            backroom = open_backroom(args.shop)
        except ConfigurationError as error:
            print(f"comptoir returns: {error}", file=sys.stderr)
            return 1
        try:
            return action(backroom, args)
        except OperationError as error:
            print(f"comptoir returns {args.action}: {error.message}", file=sys.stderr)
            return 1
        finally:
            backroom.store.close()

    return run


def _open(backroom: BackRoom, args: argparse.Namespace) -> int:
    lines = None if args.lines is None else _lines(args.lines)
    delivered = None if args.delivered is None else _date(args.delivered)
    ret = operations.open_return(backroom, args.order, lines, delivered=delivered)
    return _print_one(ret, args, f"Return {ret.rid} opened: send the goods back by ")


def _receive(backroom: BackRoom, args: argparse.Namespace) -> int:
    ret = operations.receive_return(backroom, args.rid)
    return _print_one(ret, args, f"Return {ret.rid} received and refunded: ")


def _show(backroom: BackRoom, args: argparse.Namespace) -> int:
    return _print_one(operations.get_return(backroom, args.rid), args, "")


def _list(backroom: BackRoom, args: argparse.Namespace) -> int:
    found = operations.list_returns(backroom, args.order)
    rows = [_row(ret) for ret in found]
    if args.json:
        print_json([return_json(ret) for ret in found])
    elif args.csv:
        print_csv(rows, COLUMNS)
    elif not rows:
        print("No returns.")
    else:
        print_table(rows, COLUMNS, HEADERS, right=("refund",))
    return 0


def _print_one(ret: ReturnRequest, args: argparse.Namespace, headline: str) -> int:
    if args.json:
        print_json(return_json(ret))
        return 0
    if headline:
        tail = (
            ret.request_deadline.isoformat()
            if ret.refund_amount is None
            else f"{ret.refund_amount.to_text()} {ret.refund_amount.currency}"
        )
        print(headline + tail)
    row = _row(ret)
    facts = [
        ("Return", ret.rid),
        ("Order", ret.order_number),
        ("Status", ret.status.value),
        ("From", ret.source.value),
        ("Contact", ", ".join(x for x in (ret.contact_name, ret.contact_address) if x)),
        ("Delivered", ret.delivered_on.isoformat()),
        ("Ask by", ret.request_deadline.isoformat()),
        ("Refund by", ret.refund_deadline.isoformat() if ret.refund_deadline else "-"),
        ("Refunded", row["refund"] or "-"),
    ]
    width = max(len(name) for name, _ in facts)
    for name, value in facts:
        print(f"{name.ljust(width)}  {value.replace(chr(10), ', ')}")
    print()
    print_table(
        [{"sku": x.sku, "title": x.title, "qty": x.quantity} for x in ret.lines],
        ("sku", "title", "qty"),
        {"sku": "SKU", "title": "Item", "qty": "Qty"},
        right=("qty",),
    )
    print()
    print_table(
        [
            {"at": f"{e.at:%Y-%m-%d %H:%M}", "status": e.status.value, "note": e.note}
            for e in ret.history
        ],
        ("at", "status", "note"),
        {"at": "When (UTC)", "status": "Status", "note": "What"},
    )
    return 0


def return_json(ret: ReturnRequest) -> dict[str, Any]:
    data = encode_return(ret)
    del data["format"]
    return data


def _row(ret: ReturnRequest) -> dict[str, Any]:
    money = ret.refund_amount
    return {
        "rid": ret.rid,
        "order": ret.order_number,
        "status": ret.status.value,
        "source": ret.source.value,
        "lines": ", ".join(f"{x.quantity}×{x.sku}" for x in ret.lines),
        "requested": f"{ret.created_at:%Y-%m-%d}",
        "deadline": ret.request_deadline.isoformat(),
        "refund": None if money is None else f"{money.to_text()} {money.currency}",
    }


def _lines(text: str) -> dict[str, int]:
    """``SKU:QTY,SKU:QTY`` (a bare SKU is one unit)."""
    lines: dict[str, int] = {}
    for part in text.split(","):
        sku, _, quantity = part.strip().partition(":")
        if not sku or (quantity and not quantity.isdigit()):
            raise OperationError("invalid_lines", f"--lines: '{part}' is not SKU:QTY (e.g. BOL:2)")
        lines[sku] = lines.get(sku, 0) + (int(quantity) if quantity else 1)
    return lines


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise OperationError(
            "invalid_date", f"--delivered: '{text}' is not a date such as 2026-09-14"
        ) from None
