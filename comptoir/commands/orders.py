"""``comptoir orders list|show|ship|accept|refund|cancel``: the back room's orders
(functions.backroom.orders), parsed and printed."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from typing import Any

from comptoir.backroom import open_backroom
from comptoir.commands.output import add_format_options, print_csv, print_json, print_table
from functions.backroom import BackRoom, OperationError, suppliers
from functions.backroom import orders as operations
from functions.settings import ConfigurationError
from functions.store import StoreError
from shop.dispatch import promised_dispatch
from shop.orders import Order
from shop.text import format_rate

ACTOR = "merchant via CLI"
LIST_COLUMNS = (
    "number",
    "placed",
    "dispatch",
    "status",
    "customer",
    "email",
    "items",
    "shipped",
    "total",
)
CSV_COLUMNS = (*LIST_COLUMNS[:-1], "total_amount", "refunded", "session_id")


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    orders = commands.add_parser(
        "orders",
        help="list, show, ship, refund and cancel orders",
        description="The shop's orders: list, show, ship, refund and cancel them.",
    )
    sub = orders.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = sub.add_parser(
        "list", parents=[common], help="orders, newest first, filtered", description=_LIST_HELP
    )
    listing.add_argument(
        "--status", action="append", default=[], help="paid, fulfilled… (repeat, or a,b)"
    )
    listing.add_argument("--from", dest="since", metavar="DATE", help="from this day (YYYY-MM-DD)")
    listing.add_argument("--to", dest="until", metavar="DATE", help="to this day, inclusive")
    listing.add_argument("--email", help="the customer's e-mail address")
    listing.add_argument("--sku", help="orders with a line of this SKU")
    listing.add_argument("--limit", default="50", help="at most this many (default 50)")
    add_format_options(listing, csv_too=True)
    listing.set_defaults(run=_list)

    show = sub.add_parser(
        "show", parents=[common], help="one order: lines, totals, VAT, address, history"
    )
    show.add_argument("id", metavar="ID", help="the order number (CT-…) or checkout session id")
    add_format_options(show)
    show.set_defaults(run=_show)

    ship = sub.add_parser(
        "ship",
        parents=[common],
        help="record a parcel and e-mail the shopper its tracking link",
        description="Record a parcel sent for an order (everything left to send, or "
        "--lines) and queue the shopper's shipping e-mail with the carrier's tracking "
        "link. The order becomes fulfilled once nothing is left to send.",
    )
    ship.add_argument("id", metavar="ID", help="the order number (CT-…) or checkout session id")
    ship.add_argument("--carrier", required=True, help="colissimo, mondial-relay, or shop.yaml's")
    ship.add_argument("--tracking", required=True, metavar="CODE", help="the parcel's code")
    ship.add_argument("--lines", metavar="SKU:QTY,…", help="only these units (a partial parcel)")
    add_format_options(ship)
    ship.set_defaults(run=_ship)

    accept = sub.add_parser(
        "accept",
        parents=[common],
        help="an oversold order you can supply after all: back to paid, to ship",
        description="An oversold order (paid late, for units sold meanwhile) that you can "
        "supply after all goes back to paid, to ship as usual; its suppliers are sent "
        "their lines now. Otherwise refund it (`orders cancel`).",
    )
    accept.add_argument("id", metavar="ID", help="the order number (CT-…) or checkout session id")
    add_format_options(accept)
    accept.set_defaults(run=_accept)

    refund = sub.add_parser(
        "refund",
        parents=[common],
        help="refund all or part of an order through Stripe",
        description="Refund through Stripe: everything that remains, --amount, or the "
        "units of --lines at what they were paid. The order, the stock (--restock) and "
        "the shopper's e-mail follow when Stripe confirms. The same command twice "
        "refunds once.",
    )
    refund.add_argument("id", metavar="ID", help="the order number (CT-…) or checkout session id")
    refund.add_argument("--amount", metavar="A", help="an amount such as 12.50")
    refund.add_argument("--lines", metavar="SKU:QTY,…", help="refund these units")
    refund.add_argument(
        "--restock", action="store_true", help="put the refunded units back in stock"
    )
    add_format_options(refund)
    refund.set_defaults(run=_refund)

    cancel = sub.add_parser(
        "cancel",
        parents=[common],
        help="cancel an unshipped order: refund it in full and put its stock back",
    )
    cancel.add_argument("id", metavar="ID", help="the order number (CT-…) or checkout session id")
    add_format_options(cancel)
    cancel.set_defaults(run=_cancel)


_LIST_HELP = (
    "Orders, newest first. Dates are days in the shop's time zone (YYYY-MM-DD). "
    "Statuses: pending, paid, failed, fulfilled, partially_refunded, refunded, cancelled."
)


def _operation(work: Callable[[BackRoom, argparse.Namespace], int]) -> Callable[..., int]:
    """Open the back room, run ``work``; a merchant's mistake is one line and exit 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            backroom = open_backroom(args.shop)
        except ConfigurationError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        try:
            return work(backroom, args)
        except (OperationError, ConfigurationError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except StoreError as error:
            print(f"error: the store failed: {error}", file=sys.stderr)
            return 1
        finally:
            backroom.store.close()

    return run


def _day(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise OperationError(
            "bad_date", f"{option} {text!r}: write a day as YYYY-MM-DD, e.g. 2026-12-06"
        ) from None


def _list_orders(backroom: BackRoom, args: argparse.Namespace) -> int:
    try:
        limit = int(args.limit)
    except ValueError:
        raise OperationError("bad_limit", f"--limit {args.limit!r}: write a whole number") from None
    wanted = operations.OrderFilter(
        statuses=tuple(s for text in args.status for s in text.split(",") if s.strip()),
        since=_day(args.since, "--from"),
        until=_day(args.until, "--to"),
        email=args.email,
        sku=args.sku,
        limit=limit,
    )
    found = operations.list_orders(backroom, wanted)
    locale, zone = backroom.shop().config.locale, operations.shop_zone(backroom)
    rows = [operations.order_row(order, locale, zone) for order in found]
    if args.json:
        print_json([operations.order_json(order, locale, zone) for order in found])
    elif args.csv:
        print_csv(rows, CSV_COLUMNS)
    elif not rows:
        print("No order matches.")
    else:
        print_table(rows, LIST_COLUMNS, right=("items", "shipped", "total"))
    return 0


def _show_order(backroom: BackRoom, args: argparse.Namespace) -> int:
    order = operations.find_order(backroom, args.id)
    locale, zone = backroom.shop().config.locale, operations.shop_zone(backroom)
    fulfilment = suppliers.fulfilment(backroom, order)
    if args.json:
        shown = operations.order_json(order, locale, zone)
        for line in shown["lines"]:
            line["fulfilled_by"] = fulfilment.by_sku.get(line["sku"])  # None: the shop
        shown["suppliers"] = suppliers.fulfilment_json(fulfilment)["suppliers"]
        print_json(shown)
    else:
        _print_order(order, locale, zone, fulfilment)
    return 0


def _accept_order(backroom: BackRoom, args: argparse.Namespace) -> int:
    outcome = operations.accept(backroom, args.id, actor=ACTOR)
    order = outcome.order
    if args.json:
        config = backroom.shop().config
        print_json(
            {
                "repeated": outcome.repeated,
                "suppliers_queued": len(outcome.suppliers_queued),
                "order": operations.order_json(
                    order, config.locale, operations.shop_zone(backroom)
                ),
            }
        )
        return 0
    if outcome.repeated:
        print(f"Order {order.number} was accepted before: it is {order.status.value}.")
    else:
        print(f"Order {order.number} accepted: it is paid, to ship as usual.")
    if outcome.suppliers_queued:
        print(f"Supplier orders queued: {len(outcome.suppliers_queued)}.")
    return 0


def _ship_order(backroom: BackRoom, args: argparse.Namespace) -> int:
    outcome = operations.ship(
        backroom, args.id, args.carrier, args.tracking, args.lines, actor=ACTOR
    )
    order, shipment = outcome.order, outcome.shipment
    if args.json:
        print_json(
            {
                "repeated": outcome.repeated,
                "mail_queued": outcome.mail_queued,
                "order": operations.order_json(
                    order, backroom.shop().config.locale, operations.shop_zone(backroom)
                ),
            }
        )
        return 0
    units = ", ".join(f"{line.quantity} × {line.sku}" for line in shipment.lines)
    if outcome.repeated:
        print(f"Order {order.number}: parcel {shipment.tracking} was recorded before ({units}).")
    else:
        print(f"Order {order.number}: shipped {units} by {shipment.carrier} {shipment.tracking}.")
    left = order.to_ship()
    print(f"Status: {order.status.value}" + (f"; still to ship: {_units(left)}" if left else ""))
    print(f"Tracking: {shipment.tracking_url}")
    if outcome.mail_queued:
        print(f"Shipping e-mail queued for {order.email}.")
    return 0


def _refund_order(backroom: BackRoom, args: argparse.Namespace) -> int:
    outcome = operations.refund(
        backroom, args.id, args.amount, args.lines, restock=args.restock, actor=ACTOR
    )
    return _print_refund(backroom, outcome, args.json)


def _cancel_order(backroom: BackRoom, args: argparse.Namespace) -> int:
    return _print_refund(backroom, operations.cancel(backroom, args.id, actor=ACTOR), args.json)


def _print_refund(backroom: BackRoom, outcome: operations.RefundOutcome, as_json: bool) -> int:
    order, refund = outcome.order, outcome.refund
    locale, zone = backroom.shop().config.locale, operations.shop_zone(backroom)
    if as_json:
        shown = operations.order_json(order, locale, zone)
        print_json(
            {
                "repeated": outcome.repeated,
                "refund": next(r for r in shown["refunds"] if r["key"] == refund.key),
                "order": shown,
            }
        )
        return 0
    what = "Cancellation and refund" if refund.cancel else "Refund"
    amount = refund.amount.format(locale)
    if outcome.repeated:
        print(
            f"Order {order.number}: this {what.lower()} of {amount} was asked before "
            f"({refund.state.value}); nothing more was refunded."
        )
    else:
        print(f"Order {order.number}: {what.lower()} of {amount} asked of Stripe.")
    if refund.state.value == "requested":
        print(
            "The order, its stock and the shopper's e-mail follow when Stripe confirms "
            "(its charge.refunded event)."
        )
    return 0


_list = _operation(_list_orders)
_show = _operation(_show_order)
_ship = _operation(_ship_order)
_accept = _operation(_accept_order)
_refund = _operation(_refund_order)
_cancel = _operation(_cancel_order)


# -- one order, as text -------------------------------------------------------------


def _units(units: dict[str, int]) -> str:
    return ", ".join(f"{quantity} × {sku}" for sku, quantity in units.items())


def _print_order(
    order: Order, locale: str, zone: dt.tzinfo, fulfilment: suppliers.Fulfilment
) -> None:
    priced = order.priced
    out = sys.stdout

    def money(value: Any) -> str:
        return str(value.format(locale))

    out.write(f"Order {order.number}  ({order.session_id})\n")
    out.write(f"Status:    {order.status.value}\n")
    out.write(f"Placed:    {operations.local_time(order.created_at, zone)}\n")
    dispatch = promised_dispatch(order, zone)
    if dispatch is not None:
        longest = max(line.lead_time_days or 0 for line in priced.lines)
        days = "1 shop day" if longest == 1 else f"{longest} shop days"
        out.write(f"Dispatch:  by {dispatch.isoformat()} (promised: {days} of lead time)\n")
    out.write(f"Customer:  {order.customer_name} <{order.email}>  (language {order.language}")
    out.write(", marketing consent)\n" if order.marketing_consent else ")\n")
    address = order.shipping_address
    if priced.delivery.pickup or address is None:
        out.write(f"Delivery:  {priced.delivery.label} (pickup)\n")
    else:
        parts = [address.name, address.line1, address.line2]
        parts += [f"{address.postal_code} {address.city}", address.country]
        out.write(f"Address:   {', '.join(p for p in parts if p)}\n")
        out.write(f"Delivery:  {priced.delivery.label}\n")
    out.write("\n")
    shipped, refunded = order.shipped_quantities(), order.refunded_quantities()
    rows = [
        {
            "sku": line.sku,
            "item": line.title,
            "qty": line.quantity,
            "shipped": shipped.get(line.sku, 0),
            "refunded": refunded.get(line.sku, 0),
            "unit": money(line.unit_price),
            "discount": money(-line.discount) if line.discount.amount else "",
            "total": money(line.total),
            "vat": format_rate(line.tax_rate, locale),
            "by": fulfilment.by_sku.get(line.sku, "the shop"),
        }
        for line in priced.lines
    ]
    print_table(
        rows,
        ("sku", "item", "qty", "shipped", "refunded", "unit", "discount", "total", "vat", "by"),
        right=("qty", "shipped", "refunded", "unit", "discount", "total", "vat"),
    )
    if fulfilment.notices:
        out.write("\nSuppliers\n")
    for notice in fulfilment.notices:
        state = suppliers.notice_state(notice)
        if notice.sent_at is not None:
            state += " " + operations.local_time(notice.sent_at, zone)
        elif notice.attempts:
            state += f" (attempt {notice.attempts} failed: {notice.last_error})"
        elif not notice.queued:
            state += " (the order is not paid, or waits for your decision)"
        out.write(f"  {notice.supplier.name}  by {notice.channel}: {state}\n")
    out.write("\n")
    totals = [("Subtotal", money(priced.subtotal))]
    totals += [(d.label, money(-d.amount)) for d in priced.discounts]
    totals += [(f"Shipping ({priced.delivery.label})", money(priced.delivery.price))]
    totals += [("Total", money(priced.total))]
    totals += [
        (f"  incl. VAT {format_rate(v.rate, locale)} on {money(v.gross)}", money(v.vat))
        for v in priced.vat
    ]
    if order.refunds:
        totals += [("Refunded", money(order.refunded())), ("Refundable", money(order.refundable()))]
    width = max(len(label) for label, _ in totals)
    for label, value in totals:
        out.write(f"{label.ljust(width)}  {value}\n")
    left = order.to_ship()
    if order.shipments or left:
        out.write("\nShipments" + (f" (still to ship: {_units(left)})" if left else "") + "\n")
    for s in order.shipments:
        units = _units({line.sku: line.quantity for line in s.lines})
        out.write(
            f"  #{s.number}  {operations.local_time(s.at, zone)}  {s.carrier} {s.tracking}  "
            f"{units}  ({s.by})\n      {s.tracking_url}\n"
        )
    if order.refunds:
        out.write("\nRefunds\n")
    for r in order.refunds:
        units = _units({line.sku: line.quantity for line in r.lines})
        extra = " ".join(
            part
            for part in (units, "restocked" if r.restock else "", "cancel" if r.cancel else "")
            if part
        )
        out.write(
            f"  {operations.local_time(r.requested_at, zone)}  {money(r.amount)}  "
            f"{r.state.value}  {extra}  (asked by {r.requested_by}"
            + (f"; {r.settled_by}" if r.settled_by else "")
            + ")\n"
        )
    out.write("\nHistory\n")
    for event in order.history:
        out.write(
            f"  {operations.local_time(event.at, zone)}  {event.status.value:<18}  {event.note}\n"
        )
    if not order.history:
        out.write("  (no change since it was placed)\n")
