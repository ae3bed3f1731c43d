"""``catalog.json``: the priced catalogue the functions trust.

Written by the build from content, read by the functions at checkout. Prices
are integers of minor units; a browser's prices are never used.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shop.catalogue import Catalogue, Item, Product, Status, Variant
from shop.config import ShopConfig
from shop.money import Money

FORMAT_VERSION = 1


def catalog_text(catalogue: Catalogue, config: ShopConfig, urls: dict[str, str]) -> str:
    """``catalog.json`` for the active products; ``urls`` maps product slug -> page URL.

    Its ``hash`` is the SHA-256 of the canonical JSON of everything else (sorted
    keys, no spaces), so the functions can tell which catalogue priced an order.
    The file is that canonical text with the hash put first: one encoding, not two.
    """
    body: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "currency": config.currency,
        "locale": config.locale,
        "tax_classes": {name: str(tax.rate) for name, tax in config.tax_classes.items()},
        "products": [_product(p, config, urls[p.slug]) for p in catalogue.public],
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f'{{"hash":"{digest}",{canonical[1:]}\n'


def _product(product: Product, config: ShopConfig, url: str) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "slug": product.slug,
        "title": product.title,
        "url": url,
        "category": product.category,
        "tax_class": product.tax_class,
        "items": [_item(item, config) for item in product.items],
    }


def _item(item: Item, config: ShopConfig) -> dict[str, Any]:
    return {
        "sku": item.sku,
        "title": item.title,
        "options": dict(item.variant.options) if item.variant else {},
        "price": item.price.amount,
        "price_display": item.price.format(config.locale),
        "compare_at_price": item.compare_at_price.amount if item.compare_at_price else None,
        "stock": item.stock,
        "weight": item.weight,
    }


class CatalogFileError(ValueError):
    """catalog.json is missing, unreadable or of another format."""


def load_catalog(document: dict[str, Any]) -> Catalogue:
    """Rebuild the catalogue the functions price with from ``catalog.json``'s document."""
    if document.get("version") != FORMAT_VERSION:
        raise CatalogFileError(
            f"catalog.json version {document.get('version')!r} is not "
            f"{FORMAT_VERSION}: rebuild the site"
        )
    currency = str(document["currency"])
    products = []
    for entry in document["products"]:
        items = entry["items"]
        variants = tuple(
            Variant(
                sku=item["sku"],
                options=tuple((str(k), str(v)) for k, v in item["options"].items()),
                price=Money(int(item["price"]), currency),
                compare_at_price=None,
                stock=item["stock"],
                weight=item["weight"],
            )
            for item in items
            if item["options"]
        )
        first = items[0]
        products.append(
            Product(
                slug=entry["slug"],
                source="catalog.json",
                title=entry["title"],
                sku=entry["sku"],
                price=Money(int(first["price"]), currency),
                compare_at_price=None,
                category=entry["category"],
                tags=(),
                images=(),
                weight=first["weight"],
                stock=first["stock"],
                tax_class=entry["tax_class"],
                status=Status.ACTIVE,
                featured=False,
                date=None,
                summary=None,
                description="",
                variants=variants,
            )
        )
    return Catalogue(tuple(products))
