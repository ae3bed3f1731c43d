"""The catalogue: products, their variants, and the items a shopper can buy."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shop.money import Money

# What a SKU may be, wherever one is read (content, carts, stock queries): it is used
# in URLs, Stripe metadata and store keys, so it stays short and plain.
SKU_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Status(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A picture from content/: its path relative to content/ and its alternative text."""

    src: str
    alt: str


@dataclass(frozen=True, slots=True)
class Variant:
    sku: str
    options: tuple[tuple[str, str], ...]  # (option name, value), in the merchant's order
    price: Money
    compare_at_price: Money | None
    stock: int | None  # None: not tracked
    weight: int | None  # grams
    stock_counted: dt.datetime | None = None  # when ``stock`` was counted (None: undated)

    @property
    def label(self) -> str:
        """ "Bleu / 100 g": the option values, as shown to a shopper."""
        return " / ".join(value for _, value in self.options)

    @property
    def available(self) -> bool:
        return self.stock is None or self.stock > 0


@dataclass(frozen=True, slots=True)
class Item:
    """One thing a shopper can put in a cart: a product without variants, or one variant."""

    sku: str
    product: Product
    variant: Variant | None
    price: Money
    compare_at_price: Money | None
    stock: int | None
    weight: int | None
    stock_counted: dt.datetime | None = None

    @property
    def title(self) -> str:
        if self.variant is None:
            return self.product.title
        return f"{self.product.title} — {self.variant.label}"

    @property
    def available(self) -> bool:
        return self.stock is None or self.stock > 0

    @property
    def tax_class(self) -> str:
        return self.product.tax_class


@dataclass(frozen=True, slots=True)
class Product:
    slug: str
    source: str  # path of the file, for messages
    title: str
    sku: str
    price: Money
    compare_at_price: Money | None
    category: str
    tags: tuple[str, ...]
    images: tuple[ImageRef, ...]
    weight: int | None
    stock: int | None
    tax_class: str
    status: Status
    featured: bool
    date: dt.date | None
    summary: str | None
    description: str  # Markdown
    variants: tuple[Variant, ...] = ()
    stock_counted: dt.datetime | None = None  # when ``stock`` was counted (None: undated)
    supplier: str | None = None  # the id of who fulfils it (shop.yaml suppliers); None: the shop
    lead_time_days: int | None = None  # shop days between the order and its dispatch
    # A hash of the file and settings the product was read from: equal digests,
    # equal products. "" when unknown (a product not read from a file).
    digest: str = field(default="", compare=False, repr=False)

    @property
    def items(self) -> tuple[Item, ...]:
        """What can be bought: each variant, or the product itself when it has none."""
        if not self.variants:
            return (
                Item(
                    self.sku,
                    self,
                    None,
                    self.price,
                    self.compare_at_price,
                    self.stock,
                    self.weight,
                    self.stock_counted,
                ),
            )
        return tuple(
            Item(v.sku, self, v, v.price, v.compare_at_price, v.stock, v.weight, v.stock_counted)
            for v in self.variants
        )

    @property
    def available(self) -> bool:
        return any(item.available for item in self.items)

    @property
    def has_price_range(self) -> bool:
        return len({item.price for item in self.items}) > 1

    @property
    def option_names(self) -> tuple[str, ...]:
        names: list[str] = []
        for variant in self.variants:
            for name, _ in variant.options:
                if name not in names:
                    names.append(name)
        return tuple(names)

    @property
    def is_public(self) -> bool:
        return self.status is Status.ACTIVE


@dataclass(frozen=True)
class Catalogue:
    products: tuple[Product, ...]
    _by_sku: dict[str, Item] = field(default_factory=dict, repr=False, compare=False)
    # The public products and their groups, made on first use (products never change).
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def _index(self) -> dict[str, Item]:
        """Items by SKU, made on the first lookup (a build never needs it).

        Made apart and put in at once: a lookup from another thread meanwhile sees
        an empty index (and makes its own), never half of one.
        """
        if not self._by_sku:
            index = {
                item.sku: item
                for product in self.products
                if product.is_public
                for item in product.items
            }
            self._by_sku.update(index)  # one C call: atomic under the GIL
        return self._by_sku

    @property
    def public(self) -> tuple[Product, ...]:
        found = self._memo.get("public")
        if found is None:
            found = self._memo["public"] = tuple(p for p in self.products if p.is_public)
        return found

    def item(self, sku: str) -> Item | None:
        """A purchasable item of an active product, or None."""
        return self._index().get(sku)

    def __iter__(self) -> Iterator[Product]:
        return iter(self.products)

    def categories(self) -> dict[str, list[Product]]:
        """Category name -> its active products, in title order."""
        return self._grouped("categories", lambda product: (product.category,))

    def tags(self) -> dict[str, list[Product]]:
        """Tag -> its active products, in title order."""
        return self._grouped("tags", lambda product: product.tags)

    def _grouped(
        self, kind: str, names: Callable[[Product], tuple[str, ...]]
    ) -> dict[str, list[Product]]:
        """Active products by group name, both in order; sorted once, a new dict each call."""
        groups = self._memo.get(kind)
        if groups is None:
            result: dict[str, list[Product]] = {}
            for product in sorted(self.public, key=lambda p: p.title.casefold()):
                for name in names(product):
                    result.setdefault(name, []).append(product)
            ordered = sorted(result.items(), key=lambda kv: kv[0].casefold())
            groups = self._memo[kind] = tuple((name, tuple(group)) for name, group in ordered)
        return {name: list(group) for name, group in groups}
