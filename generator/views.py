"""What templates receive: small, display-ready objects built from the domain.

Templates never compute prices or availability; they print these fields.
Every template also gets the globals described in ``theme/README.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup


class _View:
    """Base of the views: pickled as a constructor call. Forked build workers send
    their views back this way, several times faster than the generic state of
    slotted dataclasses."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        names: tuple[str, ...] = self.__slots__
        return type(self), tuple(getattr(self, name) for name in names)


@dataclass(frozen=True, slots=True)
class Link(_View):
    title: str
    url: str  # root-relative: "/products/kyusu/"


@dataclass(frozen=True, slots=True)
class ImageView(_View):
    alt: str
    src: str  # fallback (JPEG/PNG) URL for <img src>
    width: int
    height: int
    webp_srcset: str
    fallback_srcset: str
    fallback_type: str  # "image/jpeg" or "image/png"
    og_url: str  # absolute URL of a large rendition, for OpenGraph

    @property
    def thumbnail(self) -> str:
        """The smallest rendition's URL (the cart's and search results' picture)."""
        return self.fallback_srcset.split(",")[0].strip().split(" ")[0] or self.src


@dataclass(frozen=True, slots=True)
class VariantView(_View):
    sku: str
    label: str  # "Bleu / 100 g"; "" for a product without variants
    options: tuple[tuple[str, str], ...]
    price: str  # "24,90 €"
    compare_at: str | None  # former price, struck through, or None
    available: bool
    stock: int | None  # None: not tracked
    weight: int | None
    image: int | None = None  # index in the product's images of this variant's photo
    lowest: str | None = None  # with compare_at: the lowest price of the 30 days before


@dataclass(frozen=True, slots=True)
class ProductView(_View):
    slug: str
    url: str
    title: str
    sku: str
    summary: str  # plain text, for listings and the meta description
    description_html: Markup
    images: tuple[ImageView, ...]
    price: str  # the lowest price, displayed
    price_is_from: bool  # variants have different prices: show "from 9,50 €"
    compare_at: str | None
    on_sale: bool
    sale_variants: tuple[str, ...]  # labels of the reduced variants when only some are
    available: bool
    category: Link
    tags: tuple[Link, ...]
    variants: tuple[VariantView, ...]  # always at least one (the product itself)
    has_variants: bool
    option_names: tuple[str, ...]
    tax_note: str  # "TVA 5,5 % incluse"
    max_quantity: int  # the most one can buy of one variant, as built (stock, at most 99)
    stock_skus: tuple[str, ...]  # all SKUs when every one is tracked (live stock may sell out)
    json_ld: Markup  # serialized schema.org Product, safe inside <script type=application/ld+json>
    date: dt.date | None
    lowest: str | None = None  # with compare_at: the lowest price of the 30 days before (EU)
    lead_time_days: int | None = None  # shop days before dispatch (shop.dispatch), if declared


@dataclass(frozen=True, slots=True)
class Pagination(_View):
    number: int  # 1-based
    count: int
    previous_url: str | None
    next_url: str | None
    pages: tuple[Link, ...]  # title is the page number


@dataclass(frozen=True, slots=True)
class CategoryView(_View):
    name: str
    url: str
    count: int
    image: ImageView | None


@dataclass(frozen=True, slots=True)
class SiteView(_View):
    """Shared by every page: navigation, footer, shop identity."""

    name: str
    lang: str  # "fr"
    locale: str  # "fr_FR"
    base_url: str
    description: str
    nav: tuple[Link, ...]  # categories
    footer: tuple[Link, ...]  # legal pages, about, blog
    legal_notice_url: str
    terms_url: str
    withdrawal_url: str
    privacy_url: str
    blog_url: str | None
    feed_url: str | None
    cart_url: str
    current_urls: tuple[str, ...]  # pages the header marks as current (a tuple: a stable repr)


@dataclass(frozen=True, slots=True)
class PostLink(_View):
    title: str
    url: str
    date: str  # formatted for the shop's locale
    iso_date: str  # 2026-09-14, for <time datetime>
    summary: str
