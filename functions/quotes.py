"""Quotes as JSON: amounts in minor units plus their display in the shop's locale."""

from __future__ import annotations

from typing import Any

from shop.money import Money
from shop.pricing import Quote
from shop.published import PublishedShop
from shop.text import format_rate, join_units


def catalog_id(shop: PublishedShop) -> str:
    """The short name of the published shop that priced a quote (its hash's first 16 hex)."""
    return shop.hash[:16]


def money_json(money: Money, locale: str) -> dict[str, Any]:
    return {"amount": money.amount, "display": money.format(locale)}


def quote_json(quote: Quote, locale: str) -> dict[str, Any]:
    def m(money: Money) -> dict[str, Any]:
        return money_json(money, locale)

    return {
        "currency": quote.currency,
        "lines": [
            {
                "sku": line.sku,
                "title": join_units(line.title),
                "quantity": line.quantity,
                "unit_price": m(line.unit_price),
                "subtotal": m(line.subtotal),
                "discount": m(line.discount),
                "total": m(line.total),
                "tax_rate": str(line.tax_rate),
                "lead_time_days": line.lead_time_days,
            }
            for line in quote.lines
        ],
        "subtotal": m(quote.subtotal),
        "discounts": [
            {"label": join_units(d.label), "code": d.code, "amount": m(d.amount)}
            for d in quote.discounts
        ],
        "goods_total": m(quote.goods_total),
        "country": quote.country,
        "shipping_options": [
            {"id": o.method_id, "name": join_units(o.name), "price": m(o.price), "pickup": o.pickup}
            for o in quote.shipping_options
        ],
        "shipping": (
            {
                "id": quote.shipping.method_id,
                "name": join_units(quote.shipping.name),
                "price": m(quote.shipping.price),
                "pickup": quote.shipping.pickup,
            }
            if quote.shipping
            else None
        ),
        "vat": [
            {
                "rate": str(v.rate),
                "rate_display": format_rate(v.rate, locale),
                "gross": m(v.gross),
                "vat": m(v.vat),
            }
            for v in quote.vat
        ],
        "total": m(quote.total),
        "promo_code": quote.promo_code,
        "promo_rejection": quote.promo_rejection,
    }
