"""``comptoir stock``: levels, holds and low stock; ``comptoir stock set``: a correction."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from comptoir.commands.output import add_format_options, print_json, print_table
from functions.backroom import OperationError
from functions.backroom.stock import StockReport, set_stock, stock_report
from functions.settings import ConfigurationError
from functions.store import StockAdjustment, StockLevel


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = commands.add_parser(
        "stock",
        parents=[common],
        help="stock levels, holds and low stock; `stock set` corrects a count",
        description="Each tracked SKU: its count and when it was counted, what sold since, "
        "what checkouts hold, what is left; then the holds and the SKUs running low.",
    )
    add_format_options(parser)
    parser.set_defaults(run=_list)
    actions = parser.add_subparsers(dest="stock_action", metavar="ACTION")
    correct = actions.add_parser(
        "set",
        parents=[common],
        help="correct a SKU's count now, with the reason",
        description="Put N units on the shelf now (the sales before are forgotten, the holds "
        "still count); kept with its reason and time.",
    )
    correct.add_argument("sku", metavar="SKU")
    correct.add_argument("count", metavar="N", type=int)
    correct.add_argument("--reason", required=True, help="why, e.g. '2 broken in transit'")
    add_format_options(correct)
    correct.set_defaults(run=_set)


def _list(args: argparse.Namespace) -> int:
    from comptoir.backroom import open_backroom

    try:
        room = open_backroom(args.shop)
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 1
    try:
        report = stock_report(room)
    finally:
        room.store.close()
    if args.json:
        print_json(_report_json(report))
        return 0
    if not report.levels:
        print("No tracked stock: give products a 'stock' in their files.")
        return 0
    print_table(
        [_level_row(level) for level in report.levels],
        ["sku", "count", "counted_at", "sold", "held", "available"],
        {"sku": "SKU", "counted_at": "counted at"},
        right=["count", "sold", "held", "available"],
    )
    holds = [(level.sku, hold) for level in report.levels for hold in level.holds]
    if holds:
        print("\nHolds (checkouts not paid yet):")
        print_table(
            [
                {"sku": sku, "quantity": h.quantity, "key": h.key, "until": _minute(h.expires_at)}
                for sku, h in holds
            ],
            ["sku", "quantity", "until", "key"],
            {"sku": "SKU"},
            right=["quantity"],
        )
    if report.low:
        print(f"\nLow stock (at or below {report.low_threshold}):")
        for level in report.low:
            print(f"  {level.sku}: {level.available} left")
    return 0


def _set(args: argparse.Namespace) -> int:
    from comptoir.backroom import open_backroom

    try:
        room = open_backroom(args.shop)
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 1
    try:
        adjustment = set_stock(room, args.sku, args.count, args.reason)
    except OperationError as error:
        print(error.message, file=sys.stderr)
        return 1
    finally:
        room.store.close()
    if args.json:
        print_json(_adjustment_json(adjustment))
    else:
        print(
            f"{adjustment.sku}: {adjustment.count} on the shelf "
            f"(was {adjustment.previous} available) — {adjustment.reason}"
        )
    return 0


def _minute(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%d %H:%M UTC"))


def _level_row(level: StockLevel) -> dict[str, Any]:
    return {
        "sku": level.sku,
        "count": level.count,
        "counted_at": "—" if level.counted_at is None else _minute(level.counted_at),
        "sold": level.sold,
        "held": level.held,
        "available": level.available,
    }


def _report_json(report: StockReport) -> dict[str, Any]:
    return {
        "low_threshold": report.low_threshold,
        "levels": [
            {
                "sku": level.sku,
                "count": level.count,
                "counted_at": None if level.counted_at is None else level.counted_at.isoformat(),
                "sold": level.sold,
                "held": level.held,
                "available": level.available,
                "low": level in report.low,
                "holds": [
                    {"key": h.key, "quantity": h.quantity, "expires_at": h.expires_at.isoformat()}
                    for h in level.holds
                ],
            }
            for level in report.levels
        ],
    }


def _adjustment_json(adjustment: StockAdjustment) -> dict[str, Any]:
    return {
        "sku": adjustment.sku,
        "count": adjustment.count,
        "previous": adjustment.previous,
        "reason": adjustment.reason,
        "at": adjustment.at.isoformat(),
    }
