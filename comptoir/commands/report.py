"""``comptoir report``: revenue, best sellers, best customers, categories, refunds and
returns, sell-through — in the terminal, as JSON, or as one self-contained HTML page."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from comptoir.commands.output import add_format_options, print_json, print_table
from comptoir.report_html import render_report
from functions.backroom import OperationError
from functions.backroom.reports import business_report
from functions.settings import ConfigurationError
from functions.store import StoreError
from shop.reports import Report

DEFINITION = (
    "Revenue: paid orders' totals (TTC) less confirmed refunds, by the month the order was "
    "placed in the shop's time zone; HT: less each order's VAT."
)


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "report",
        parents=[common],
        help="revenue, best sellers and customers, refunds, returns, sell-through",
        description="The business report of the orders placed in a period. " + DEFINITION,
    )
    parser.add_argument("--from", dest="since", metavar="DATE", help="from this day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="until", metavar="DATE", help="to this day, inclusive")
    parser.add_argument(
        "--html", metavar="FILE", type=Path, help="write it as one self-contained web page"
    )
    add_format_options(parser)
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from comptoir.backroom import open_backroom

    try:
        start, end = _day(args.since, "--from"), _day(args.until, "--to")
        room = open_backroom(args.shop)
    except (ConfigurationError, OperationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        report = business_report(room, start, end)
        shop = room.shop()
    except (OperationError, StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        room.store.close()
    locale = shop.config.locale
    if args.html is not None:
        page = render_report(report, shop_name=shop.config.name, language=shop.config.language)
        try:
            args.html.write_text(page, encoding="utf-8")
        except OSError as error:
            print(f"error: cannot write {args.html}: {error.strerror}", file=sys.stderr)
            return 1
        print(f"Report written to {args.html}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print_json(report_json(report, locale))
    elif args.html is None:
        print_report(report, locale)
    return 0


def _day(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise OperationError(
            "bad_date", f"{option} {text!r}: write a day as YYYY-MM-DD, e.g. 2026-12-06"
        ) from None


def _period(report: Report) -> str:
    start = "the first order" if report.start is None else report.start.isoformat()
    end = "today" if report.end is None else report.end.isoformat()
    return f"from {start} to {end}"


def print_report(report: Report, locale: str) -> None:
    def money(value: Any) -> str:
        return str(value.format(locale))

    print(f"Report {_period(report)}")
    print(DEFINITION)
    if not report.orders:
        print("\nNo paid order in this period.")
    print(
        f"\nRevenue {money(report.revenue)} TTC ({money(report.revenue_ht)} HT) from "
        f"{report.orders} orders; charged {money(report.charged)}, refunded "
        f"{money(report.refunded)}; average basket {money(report.average_basket)}."
    )
    sections: list[tuple[str, list[dict[str, Any]], list[str], list[str]]] = [
        (
            "Revenue and orders by month",
            [
                {
                    "month": m.month,
                    "orders": m.orders,
                    "charged": money(m.charged),
                    "refunded": money(m.refunded),
                    "revenue": money(m.revenue),
                    "revenue HT": money(m.revenue_ht),
                }
                for m in report.months
            ],
            ["month", "orders", "charged", "refunded", "revenue", "revenue HT"],
            ["orders", "charged", "refunded", "revenue", "revenue HT"],
        ),
        (
            "Best sellers by quantity",
            [_product_row(p, money) for p in report.best_by_quantity],
            ["sku", "title", "units", "revenue"],
            ["units", "revenue"],
        ),
        (
            "Best sellers by revenue",
            [_product_row(p, money) for p in report.best_by_revenue],
            ["sku", "title", "units", "revenue"],
            ["units", "revenue"],
        ),
        (
            "Best customers",
            [
                {
                    "customer": c.name,
                    "email": c.email,
                    "orders": c.orders,
                    "revenue": money(c.revenue),
                    "last order": c.last_order.strftime("%Y-%m-%d"),
                }
                for c in report.best_customers
            ],
            ["customer", "email", "orders", "revenue", "last order"],
            ["orders", "revenue"],
        ),
        (
            "Revenue by category (goods, before refunds)",
            [
                {"category": c.category, "units": c.quantity, "revenue": money(c.revenue)}
                for c in report.categories
            ],
            ["category", "units", "revenue"],
            ["units", "revenue"],
        ),
        (
            "Sell-through of tracked stock",
            [
                {
                    "sku": s.sku,
                    "sold": s.sold,
                    "available": s.available,
                    "sell-through": "—" if s.sell_through is None else f"{s.sell_through} %",
                    "": "OUT OF STOCK" if s.out else "",
                }
                for s in report.stock
            ],
            ["sku", "sold", "available", "sell-through", ""],
            ["sold", "available", "sell-through"],
        ),
    ]
    for title, rows, columns, right in sections:
        if rows:
            print(f"\n{title}:")
            print_table(rows, columns, right=right)
    print(
        f"\nRefunds: {money(report.refunded)} ({report.refund_rate} % of what was charged), "
        f"on {report.refunded_orders} orders. Returns: {report.returned_orders} orders "
        f"({report.return_rate} %)."
    )
    outs = ", ".join(s.sku for s in report.stock_outs)
    print(f"Stock-outs: {outs or 'none'}.")


def _product_row(product: Any, money: Any) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "title": product.title,
        "units": product.quantity,
        "revenue": money(product.revenue),
    }


def report_json(report: Report, locale: str) -> dict[str, Any]:
    """The whole report, JSON-able; amounts as minor units with their display."""

    def money(value: Any) -> dict[str, Any]:
        return {"amount": value.amount, "currency": value.currency, "display": value.format(locale)}

    def product(p: Any) -> dict[str, Any]:
        return {
            "sku": p.sku,
            "title": p.title,
            "category": p.category,
            "quantity": p.quantity,
            "revenue": money(p.revenue),
        }

    return {
        "definition": DEFINITION,
        "from": None if report.start is None else report.start.isoformat(),
        "to": None if report.end is None else report.end.isoformat(),
        "currency": report.currency,
        "orders": report.orders,
        "charged": money(report.charged),
        "refunded": money(report.refunded),
        "revenue": money(report.revenue),
        "revenue_ht": money(report.revenue_ht),
        "shipping": money(report.shipping),
        "average_basket": money(report.average_basket),
        "months": [
            {
                "month": m.month,
                "orders": m.orders,
                "charged": money(m.charged),
                "refunded": money(m.refunded),
                "revenue": money(m.revenue),
                "revenue_ht": money(m.revenue_ht),
            }
            for m in report.months
        ],
        "products": [product(p) for p in report.products],
        "best_by_quantity": [product(p) for p in report.best_by_quantity],
        "best_by_revenue": [product(p) for p in report.best_by_revenue],
        "customers": [
            {
                "email": c.email,
                "name": c.name,
                "orders": c.orders,
                "revenue": money(c.revenue),
                "last_order": c.last_order.isoformat(),
            }
            for c in report.customers
        ],
        "categories": [
            {"category": c.category, "quantity": c.quantity, "revenue": money(c.revenue)}
            for c in report.categories
        ],
        "refunded_orders": report.refunded_orders,
        "refund_rate": str(report.refund_rate),
        "returned_orders": report.returned_orders,
        "return_rate": str(report.return_rate),
        "stock": [
            {
                "sku": s.sku,
                "sold": s.sold,
                "available": s.available,
                "sell_through": None if s.sell_through is None else str(s.sell_through),
                "out": s.out,
            }
            for s in report.stock
        ],
        "stock_outs": [s.sku for s in report.stock_outs],
    }
