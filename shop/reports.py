"""The business report: what sold, to whom, and what came back — pure functions of the orders.

Definitions (the same in the terminal, the JSON, the HTML page and docs/reports.md):

- **Paid orders** of the period: orders placed in it (``created_at``, read in the shop's
  time zone) whose payment went through: paid, fulfilled, oversold, partly or wholly
  refunded, and cancelled ones that had been paid (a ``paid`` move in their history, or a
  refund). Pending (not cleared yet) and failed payments are not sales.
- **Revenue** (TTC, VAT included): the paid orders' totals as charged (goods after
  discounts, plus shipping) minus what Stripe confirmed refunding on them. Refunds count in
  the month the order was placed, so each month's figure is that month's orders as they
  stand today. **HT**: each order's total less its VAT, less the HT share of its refunds
  (the refund times the order's HT/TTC ratio, rounded half up to the cent).
- **Average basket**: the paid orders' totals (before refunds) over their number.
- **Best sellers**: units ordered and their line totals (TTC, after discounts, before
  refunds; shipping apart), per SKU.
- **Category** of a line: its SKU's product category in the published catalogue; a SKU no
  longer sold there is in ``RETIRED``.
- **Refund rate**: refunded over charged; **return rate**: paid orders with a return
  request over paid orders.
- **Sell-through** of a tracked SKU: units sold in the period (ordered less refunded) over
  those plus what is available now; **stock-outs**: tracked SKUs with nothing available.

Every amount is integer minor units (``Money``): the figures add up to the orders' to the cent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shop.catalogue import Catalogue
from shop.money import Money
from shop.orders import Order, OrderStatus
from shop.pricing import round_half_up

RETIRED = "(retiré)"
TOP = 10  # rows in each "best" ranking
PAID_STATUSES = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.FULFILLED,
        OrderStatus.OVERSOLD,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    }
)


@dataclass(frozen=True, slots=True)
class MonthFigures:
    month: str  # "2026-03", in the shop's time zone
    orders: int
    charged: Money  # the paid orders' totals, TTC
    refunded: Money
    revenue: Money  # charged - refunded, TTC
    revenue_ht: Money


@dataclass(frozen=True, slots=True)
class ProductSales:
    sku: str
    title: str
    category: str
    quantity: int  # units ordered
    revenue: Money  # their line totals, TTC after discounts


@dataclass(frozen=True, slots=True)
class CustomerFigures:
    email: str  # lower-cased
    name: str  # as on their latest order
    orders: int
    revenue: Money  # charged - refunded, TTC
    last_order: dt.datetime  # UTC


@dataclass(frozen=True, slots=True)
class CategoryRevenue:
    category: str
    quantity: int
    revenue: Money  # line totals, TTC after discounts


@dataclass(frozen=True, slots=True)
class StockFigures:
    sku: str
    sold: int  # in the period, ordered less refunded
    available: int  # now (below zero: oversold)
    sell_through: Decimal | None  # percent, one decimal; None when nothing sold nor left

    @property
    def out(self) -> bool:
        return self.available <= 0


@dataclass(frozen=True, slots=True)
class Report:
    currency: str
    start: dt.date | None  # first day, inclusive (None: since the first order)
    end: dt.date | None  # last day, inclusive (None: up to now)
    months: tuple[MonthFigures, ...]
    orders: int
    charged: Money
    refunded: Money
    revenue: Money
    revenue_ht: Money
    shipping: Money  # part of ``charged``: what the orders charged beyond their lines
    average_basket: Money
    products: tuple[ProductSales, ...]  # every SKU sold, best revenue first
    customers: tuple[CustomerFigures, ...]  # every buyer, best revenue first
    categories: tuple[CategoryRevenue, ...]  # best revenue first
    refunded_orders: int
    returned_orders: int
    stock: tuple[StockFigures, ...]  # tracked SKUs, by SKU

    @property
    def best_by_quantity(self) -> tuple[ProductSales, ...]:
        ranked = sorted(self.products, key=lambda p: (-p.quantity, -p.revenue.amount, p.sku))
        return tuple(ranked[:TOP])

    @property
    def best_by_revenue(self) -> tuple[ProductSales, ...]:
        return self.products[:TOP]

    @property
    def best_customers(self) -> tuple[CustomerFigures, ...]:
        return self.customers[:TOP]

    @property
    def refund_rate(self) -> Decimal:
        return percent(self.refunded.amount, self.charged.amount)

    @property
    def return_rate(self) -> Decimal:
        return percent(self.returned_orders, self.orders)

    @property
    def stock_outs(self) -> tuple[StockFigures, ...]:
        return tuple(s for s in self.stock if s.out)


def was_paid(order: Order) -> bool:
    """Whether the order's payment went through (see the module's definitions)."""
    if order.status in PAID_STATUSES:
        return True
    if order.status == OrderStatus.CANCELLED:
        return bool(order.refunds) or any(e.status == OrderStatus.PAID for e in order.history)
    return False


def revenue_ht(order: Order) -> int:
    """The order's total less its VAT, less the HT share of what was refunded (minor units)."""
    total = order.total.amount
    ht = total - sum(v.vat.amount for v in order.priced.vat)
    refunded = order.refunded().amount
    if not refunded or not total:
        return ht
    return ht - round_half_up(Decimal(refunded) * ht / total)


def build_report(
    orders: Iterable[Order],
    *,
    catalogue: Catalogue,
    available: Mapping[str, int],
    returned: Collection[str],
    zone: dt.tzinfo,
    currency: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Report:
    """The report of ``orders`` (those placed from ``start`` to ``end`` in ``zone`` count).

    ``available``: what each tracked SKU has available now; ``returned``: the checkout
    session ids of orders with a return request. Orders in another currency than the
    shop's are left out (a shop sells in one).
    """
    paid = [
        order
        for order in orders
        if was_paid(order) and order.currency == currency and _within(order, zone, start, end)
    ]
    zero = Money.zero(currency)
    charged = sum((o.total for o in paid), zero)
    refunded = sum((o.refunded() for o in paid), zero)
    products = _products(paid, catalogue, zero)
    goods = sum((p.revenue for p in products), zero)
    return Report(
        currency=currency,
        start=start,
        end=end,
        months=_months(paid, zone, zero),
        orders=len(paid),
        charged=charged,
        refunded=refunded,
        revenue=charged - refunded,
        revenue_ht=Money(sum(revenue_ht(o) for o in paid), currency),
        shipping=charged - goods,
        average_basket=Money(_divide(charged.amount, len(paid)), currency),
        products=products,
        customers=_customers(paid, zero),
        categories=_categories(products, zero),
        refunded_orders=sum(1 for o in paid if o.refunded().amount),
        returned_orders=sum(1 for o in paid if o.session_id in returned),
        stock=_stock(paid, available),
    )


def percent(part: int, whole: int) -> Decimal:
    """``part`` of ``whole`` in percent, one decimal, rounded half up (0 of nothing: 0)."""
    if not whole:
        return Decimal(0)
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), rounding="ROUND_HALF_UP")


def month_of(moment: dt.datetime, zone: dt.tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m")


def _within(order: Order, zone: dt.tzinfo, start: dt.date | None, end: dt.date | None) -> bool:
    day = order.created_at.astimezone(zone).date()
    return (start is None or day >= start) and (end is None or day <= end)


def _divide(amount: int, count: int) -> int:
    return round_half_up(Decimal(amount) / count) if count else 0


def _months(paid: Sequence[Order], zone: dt.tzinfo, zero: Money) -> tuple[MonthFigures, ...]:
    by_month: dict[str, list[Order]] = {}
    for order in paid:
        by_month.setdefault(month_of(order.created_at, zone), []).append(order)
    if not by_month:
        return ()
    months = []
    for month in _month_range(min(by_month), max(by_month)):  # empty months shown too
        found = by_month.get(month, [])
        charged = sum((o.total for o in found), zero)
        refunded = sum((o.refunded() for o in found), zero)
        months.append(
            MonthFigures(
                month,
                len(found),
                charged,
                refunded,
                charged - refunded,
                Money(sum(revenue_ht(o) for o in found), zero.currency),
            )
        )
    return tuple(months)


def _month_range(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _products(paid: Sequence[Order], catalogue: Catalogue, zero: Money) -> tuple[ProductSales, ...]:
    sales: dict[str, ProductSales] = {}
    # Oldest first, so the title kept is the latest one the SKU was sold under.
    for order in sorted(paid, key=lambda o: o.created_at):
        for line in order.priced.lines:
            before = sales.get(line.sku)
            item = catalogue.item(line.sku)
            sales[line.sku] = ProductSales(
                line.sku,
                line.title,
                RETIRED if item is None else item.product.category,
                line.quantity + (0 if before is None else before.quantity),
                line.total + (zero if before is None else before.revenue),
            )
    return tuple(sorted(sales.values(), key=lambda p: (-p.revenue.amount, -p.quantity, p.sku)))


def _customers(paid: Sequence[Order], zero: Money) -> tuple[CustomerFigures, ...]:
    buyers: dict[str, CustomerFigures] = {}
    for order in sorted(paid, key=lambda o: o.created_at):
        email = order.email.strip().lower()
        if not email:  # an order whose buyer was forgotten (GDPR) belongs to nobody
            continue
        before = buyers.get(email)
        buyers[email] = CustomerFigures(
            email,
            order.customer_name or ("" if before is None else before.name),
            1 + (0 if before is None else before.orders),
            order.total - order.refunded() + (zero if before is None else before.revenue),
            order.created_at,
        )
    return tuple(sorted(buyers.values(), key=lambda c: (-c.revenue.amount, -c.orders, c.email)))


def _categories(products: Sequence[ProductSales], zero: Money) -> tuple[CategoryRevenue, ...]:
    found: dict[str, CategoryRevenue] = {}
    for product in products:
        before = found.get(product.category, CategoryRevenue(product.category, 0, zero))
        found[product.category] = CategoryRevenue(
            product.category, before.quantity + product.quantity, before.revenue + product.revenue
        )
    return tuple(sorted(found.values(), key=lambda c: (-c.revenue.amount, c.category)))


def _stock(paid: Sequence[Order], available: Mapping[str, int]) -> tuple[StockFigures, ...]:
    sold: dict[str, int] = {}
    for order in paid:
        refunded = order.refunded_quantities()
        for sku, quantity in order.ordered_quantities().items():
            sold[sku] = sold.get(sku, 0) + quantity - refunded.get(sku, 0)
    figures = []
    for sku in sorted(available):
        units, left = max(sold.get(sku, 0), 0), available[sku]
        whole = units + max(left, 0)
        figures.append(StockFigures(sku, units, left, percent(units, whole) if whole else None))
    return tuple(figures)
