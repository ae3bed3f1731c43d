"""``catalog.json``: the public priced catalogue, published on the CDN with the site.

The cart page reads it for titles and links. It holds only what a shopper may see:
the functions price with the published shop (``shop.published``), never with this
file, and never with what a browser sends.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shop.catalogue import Catalogue, Item, Product
from shop.config import ShopConfig

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
