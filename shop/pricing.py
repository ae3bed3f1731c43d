"""Quoting a cart: the one place where prices, discounts, shipping and VAT are computed.

``quote_cart`` is a pure function of (catalogue, configuration, cart, context);
the build's displayed prices, ``/api/quote`` and checkout all use it, so what a
shopper is shown is what Stripe charges, cent for cent.

Rounding rule (one, explicit): prices include VAT; VAT is derived once per
rate from the VAT-inclusive total of that rate, ``vat = gross × rate / (100 + rate)``,
rounded half up to the minor unit. Percentage discounts are rounded half up
too, then spread over the discounted lines in proportion to their amounts by
the largest-remainder method, so the parts always add up to the whole.
Shipping carries no rate of its own: it follows the goods' rates pro rata (``_vat``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from shop.catalogue import Catalogue, Item
from shop.config import Discount, ShippingMethod, ShippingZone, ShopConfig
from shop.money import Money

MAX_LINES = 100
# Why a promo code does not apply; the cart page shows each in the shopper's language.
REJECTIONS = (
    "unknown",
    "not_yet_valid",
    "expired",
    "used_up",
    "minimum_subtotal",
    "not_applicable",
)
MAX_QUANTITY = 99


class QuoteError(Exception):
    """A cart that cannot be priced; ``code`` goes into the JSON error."""

    def __init__(self, code: str, message: str, sku: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.sku = sku


@dataclass(frozen=True, slots=True)
class CartLine:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class QuotedLine:
    sku: str
    title: str
    quantity: int
    unit_price: Money
    subtotal: Money  # unit price × quantity
    discount: Money  # this line's share of every discount
    total: Money  # subtotal − discount
    tax_class: str
    tax_rate: Decimal
    weight: int  # grams, for all units
    lead_time_days: int | None = None  # the product's: shop days before dispatch
    supplier: str | None = None  # the product's supplier id (shop.yaml); None: the shop


@dataclass(frozen=True, slots=True)
class AppliedDiscount:
    label: str
    code: str | None  # the promo code, or None for an automatic cart rule
    amount: Money


@dataclass(frozen=True, slots=True)
class ShippingOption:
    zone_id: str
    method_id: str
    name: str
    price: Money
    pickup: bool


@dataclass(frozen=True, slots=True)
class VatLine:
    rate: Decimal
    gross: Money  # VAT-inclusive amount taxed at this rate
    vat: Money


@dataclass(frozen=True, slots=True)
class Quote:
    currency: str
    lines: tuple[QuotedLine, ...]
    subtotal: Money
    discounts: tuple[AppliedDiscount, ...]
    goods_total: Money  # subtotal − discounts
    country: str | None
    shipping_options: tuple[ShippingOption, ...]
    shipping: ShippingOption | None
    vat: tuple[VatLine, ...]
    total: Money
    promo_code: str | None  # the accepted code, normalised
    promo_rejection: str | None  # why a given code does not apply: a code (see REJECTIONS)

    @property
    def discount_total(self) -> Money:
        return sum((d.amount for d in self.discounts), Money.zero(self.currency))


@dataclass(frozen=True, slots=True)
class PaymentLine:
    """One line as sent to the payment provider: integer unit amount × quantity."""

    sku: str
    name: str
    unit_amount: int
    quantity: int


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split ``amount`` in proportion to ``weights`` (largest remainder); parts sum exactly.

    No part exceeds its weight when ``amount <= sum(weights)``.
    """
    total = sum(weights)
    if amount == 0 or total == 0:
        return [0] * len(weights)
    shares = [amount * w // total for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for index in remainders[: amount - sum(shares)]:
        shares[index] += 1
    return shares


def quote_cart(
    catalogue: Catalogue,
    config: ShopConfig,
    cart: Sequence[CartLine],
    *,
    country: str | None = None,
    promo_code: str | None = None,
    shipping_method: str | None = None,
    today: dt.date,
    code_uses: Mapping[str, int] | None = None,
) -> Quote:
    """Price a cart from the trusted catalogue and the shop's rules.

    Raises QuoteError for a cart that cannot be sold (unknown SKU, bad quantity,
    too many lines, unknown country or shipping method). A promo code that does
    not apply is not an error: the quote says why in ``promo_rejection``.
    """
    currency = config.currency
    items = _resolve(catalogue, cart)
    subtotals = [item.price.amount * quantity for item, quantity in items]
    discounts: list[AppliedDiscount] = []
    line_discounts = [0] * len(items)

    for rule in config.cart_rules:
        free = _cheapest_free(items, line_discounts, rule.buy, rule.categories)
        amount = sum(free)
        if amount:
            line_discounts = [a + b for a, b in zip(line_discounts, free, strict=True)]
            discounts.append(AppliedDiscount(rule.name, None, Money(amount, currency)))

    code, rejection, free_shipping = None, None, False
    if promo_code and promo_code.strip():
        discount = config.discount(promo_code)
        subtotal_now = sum(subtotals) - sum(line_discounts)
        rejection = _rejection(discount, subtotal_now, today, code_uses or {})
        if discount is not None and rejection is None:
            eligible = [
                subtotals[i] - line_discounts[i] if _eligible(item, discount) else 0
                for i, (item, _) in enumerate(items)
            ]
            amount = _discount_amount(discount, sum(eligible))
            if discount.kind == "free_shipping":
                free_shipping = True
            if discount.kind != "free_shipping" and amount == 0:
                rejection = "not_applicable"
            else:
                shares = allocate(amount, eligible)
                line_discounts = [a + b for a, b in zip(line_discounts, shares, strict=True)]
                code = discount.code
                discounts.append(AppliedDiscount(discount.label, code, Money(amount, currency)))

    lines = tuple(
        QuotedLine(
            sku=item.sku,
            title=item.title,
            quantity=quantity,
            unit_price=item.price,
            subtotal=Money(subtotals[i], currency),
            discount=Money(line_discounts[i], currency),
            total=Money(subtotals[i] - line_discounts[i], currency),
            tax_class=item.tax_class,
            tax_rate=config.tax_classes[item.tax_class].rate,
            weight=(item.weight or 0) * quantity,
            lead_time_days=item.product.lead_time_days,
            supplier=item.product.supplier,
        )
        for i, (item, quantity) in enumerate(items)
    )
    goods = Money(sum(line.total.amount for line in lines), currency)
    options = _shipping_options(
        config, country, goods, sum(line.weight for line in lines), free_shipping
    )
    shipping = _choose(options, shipping_method)
    total = goods + (shipping.price if shipping else Money.zero(currency))
    return Quote(
        currency=currency,
        lines=lines,
        subtotal=Money(sum(subtotals), currency),
        discounts=tuple(discounts),
        goods_total=goods,
        country=country,
        shipping_options=options,
        shipping=shipping,
        vat=_vat(lines, shipping, config),
        total=total,
        promo_code=code,
        promo_rejection=rejection,
    )


def payment_lines(quote: Quote) -> list[PaymentLine]:
    """The quote's goods as integer unit amounts × quantities that add up exactly.

    A discounted line whose total does not divide by its quantity becomes two
    lines (some units one cent dearer), so the provider charges the exact total.
    """
    result: list[PaymentLine] = []
    for line in quote.lines:
        base, extra = divmod(line.total.amount, line.quantity)
        if extra:
            result.append(PaymentLine(line.sku, line.title, base + 1, extra))
        if line.quantity - extra:
            result.append(PaymentLine(line.sku, line.title, base, line.quantity - extra))
    return result


# -- steps ---------------------------------------------------------------------


def _resolve(catalogue: Catalogue, cart: Sequence[CartLine]) -> list[tuple[Item, int]]:
    if not cart:
        raise QuoteError("empty_cart", "The cart is empty.")
    merged: dict[str, int] = {}
    for line in cart:
        quantity = line.quantity
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not (1 <= quantity <= MAX_QUANTITY)
        ):
            raise QuoteError(
                "invalid_quantity",
                f"Quantities must be whole numbers from 1 to {MAX_QUANTITY}.",
                line.sku,
            )
        merged[line.sku] = merged.get(line.sku, 0) + quantity
    if len(merged) > MAX_LINES:
        raise QuoteError("too_many_lines", f"A cart holds at most {MAX_LINES} different products.")
    result: list[tuple[Item, int]] = []
    for sku, quantity in merged.items():
        item = catalogue.item(sku)
        if item is None:
            raise QuoteError("unknown_sku", "This product is not for sale.", sku)
        if quantity > MAX_QUANTITY:
            raise QuoteError(
                "invalid_quantity",
                f"Quantities must be whole numbers from 1 to {MAX_QUANTITY}.",
                sku,
            )
        result.append((item, quantity))
    return result


def _cheapest_free(
    items: Sequence[tuple[Item, int]],
    already: Sequence[int],
    buy: int,
    categories: tuple[str, ...],
) -> list[int]:
    """ "Buy N, the cheapest is free": per full group of N eligible units, one unit free."""
    units = [
        (item.price.amount, index)
        for index, (item, quantity) in enumerate(items)
        if not categories or item.product.category in categories
        for _ in range(quantity)
    ]
    free = [0] * len(items)
    for price, index in sorted(units)[: len(units) // buy]:
        free[index] += price
    subtotals = [item.price.amount * q for item, q in items]
    return [min(free[i], subtotals[i] - already[i]) for i in range(len(items))]


def _rejection(
    discount: Discount | None,
    subtotal: int,
    today: dt.date,
    uses: Mapping[str, int],
) -> str | None:
    if discount is None:
        return "unknown"
    if discount.starts and today < discount.starts:
        return "not_yet_valid"
    if discount.ends and today > discount.ends:
        return "expired"
    if discount.usage_limit is not None and uses.get(discount.code, 0) >= discount.usage_limit:
        return "used_up"
    if discount.minimum_subtotal and subtotal < discount.minimum_subtotal.amount:
        return "minimum_subtotal"
    return None


def _eligible(item: Item, discount: Discount) -> bool:
    if discount.categories and item.product.category not in discount.categories:
        return False
    return not discount.products or bool({item.sku, item.product.sku} & set(discount.products))


def _discount_amount(discount: Discount, eligible_total: int) -> int:
    if discount.kind == "percent":
        assert discount.percent is not None
        return min(eligible_total, round_half_up(eligible_total * discount.percent / 100))
    if discount.kind == "amount":
        assert discount.amount is not None
        return min(eligible_total, discount.amount.amount)
    return 0


def zone_for(config: ShopConfig, country: str) -> ShippingZone | None:
    return next((zone for zone in config.shipping_zones if country in zone.countries), None)


def _shipping_options(
    config: ShopConfig, country: str | None, goods: Money, weight: int, free_shipping: bool
) -> tuple[ShippingOption, ...]:
    if country is None:
        return ()
    zone = zone_for(config, country)
    if zone is None:
        raise QuoteError("country_not_served", "The shop does not deliver to this country.")
    options = []
    for method in zone.methods:
        price = _method_price(method, goods, weight)
        if price is None:
            continue
        if free_shipping or (method.free_over is not None and goods >= method.free_over):
            price = Money.zero(goods.currency)
        options.append(ShippingOption(zone.id, method.id, method.name, price, method.pickup))
    return tuple(sorted(options, key=lambda o: (o.price, o.pickup)))


def _method_price(method: ShippingMethod, goods: Money, weight: int) -> Money | None:
    if method.by == "flat":
        return method.price
    measure = weight if method.by == "weight" else goods.amount
    return next((band.price for band in method.bands if measure <= band.up_to), None)


def _choose(options: Sequence[ShippingOption], wanted: str | None) -> ShippingOption | None:
    if not options:
        if wanted:
            raise QuoteError("unknown_shipping_method", "This delivery method is not available.")
        return None
    if wanted is None:
        return next((o for o in options if not o.pickup), options[0])
    for option in options:
        if option.method_id == wanted:
            return option
    raise QuoteError("unknown_shipping_method", "This delivery method is not available here.")


def _vat(
    lines: Sequence[QuotedLine], shipping: ShippingOption | None, config: ShopConfig
) -> tuple[VatLine, ...]:
    """VAT per rate. Shipping is an accessory of the goods: its price is split over the
    goods' rates in proportion to the goods' amounts at each rate (largest remainder), as
    EU practice asks for mixed baskets; with no goods to follow, the standard rate."""
    gross: dict[Decimal, int] = {}
    for line in lines:
        gross[line.tax_rate] = gross.get(line.tax_rate, 0) + line.total.amount
    if shipping is not None and shipping.price.amount:
        rates = sorted(rate for rate, amount in gross.items() if amount > 0)
        shares = allocate(shipping.price.amount, [gross[rate] for rate in rates])
        if not rates:  # every good was free: nothing to follow
            rates, shares = (
                [config.tax_classes[config.default_tax_class].rate],
                [shipping.price.amount],
            )
        for rate, share in zip(rates, shares, strict=True):
            gross[rate] = gross.get(rate, 0) + share
    return tuple(
        VatLine(
            rate,
            Money(amount, config.currency),
            Money(round_half_up(amount * rate / (100 + rate)), config.currency),
        )
        for rate, amount in sorted(gross.items())
    )
