"""The published shop: everything the functions need, made by the build, in one typed file.

``comptoir build`` writes it outside ``output/`` (it holds the discount codes, which
must never reach the CDN); the functions load it and nothing else: never
``content/``, never ``theme/``. It holds:

- the catalogue reduced to what pricing needs (SKUs, titles, options, prices,
  stock counts, weights, categories, tax classes of the active products);
- every pricing rule (tax classes, shipping zones and bands, thresholds,
  discount codes, cart rules), with locale, currency, time zone, legal identity
  and e-mail senders: the shop's configuration;
- the site paths of the pages that play a role (terms, withdrawal, privacy,
  legal notice, order page, cart);
- the shop's e-mail templates and their compiled translations, from its own theme.

The encoding is exact: ``decode(encode(shop)) == shop``. Amounts are integers of
minor units of the shop's currency, rates and percentages decimal strings, dates
ISO text. Its ``hash`` (SHA-256 of the canonical JSON of everything else) names
the catalogue that priced an order.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from shop.catalogue import Catalogue, Product, Status, Variant
from shop.config import (
    DEFAULT_ACCOUNTS,
    AccountingSettings,
    Band,
    CartRule,
    Discount,
    EmailSettings,
    LegalIdentity,
    ShippingMethod,
    ShippingZone,
    ShopConfig,
    Supplier,
    TaxClass,
    WebhookEndpoint,
)
from shop.files import write_atomic
from shop.money import Money
from shop.orders import OrderLine

FORMAT = "comptoir.published-shop"
VERSION = 1
FILE_NAME = "shop.json"
FOLDER = "published"  # beside output/, in the shop's folder: never published on the CDN

T = TypeVar("T")


class PublishedShopError(Exception):
    """The published shop is missing, unreadable, corrupt or of another version.

    The message says what to run; it never holds the file's content.
    """


@dataclass(frozen=True, slots=True)
class PageRoles:
    """Site paths ("/cgv/") of the pages the functions link to."""

    legal_notice: str
    terms_of_sale: str
    withdrawal: str
    privacy: str
    order: str = "/order/"
    cart: str = "/cart/"


@dataclass(frozen=True, slots=True)
class EmailTheme:
    """The shop's e-mail templates (file name in ``theme/emails/`` -> Jinja source) and,
    per language, its compiled ``emails`` gettext catalogue (GNU .mo bytes)."""

    templates: Mapping[str, str]
    translations: Mapping[str, bytes]


@dataclass(frozen=True)
class PublishedShop:
    config: ShopConfig
    catalogue: Catalogue
    pages: PageRoles
    emails: EmailTheme
    hash: str = field(default="", compare=False)

    @classmethod
    def of(
        cls, config: ShopConfig, catalogue: Catalogue, pages: PageRoles, emails: EmailTheme
    ) -> PublishedShop:
        """The published shop of a build: active products only, reduced, and hashed."""
        reduced = Catalogue(tuple(reduce_product(p) for p in catalogue.public))
        shop = cls(_published_config(config), reduced, pages, emails)
        return replace(shop, hash=_digest(_body(shop)))

    def url(self, path: str) -> str:
        """Absolute URL of a site path on the shop's own address."""
        return self.config.url(path)

    def today(self, now: dt.datetime) -> dt.date:
        """Today in the shop's time zone: promo codes start and end at the shop's midnight."""
        return now.astimezone(ZoneInfo(self.config.timezone)).date()

    def suppliers_by_sku(self, lines: Iterable[OrderLine]) -> dict[str, Supplier]:
        """Who fulfils each of ``lines`` that a supplier fulfils: the supplier its product
        had when it was bought (``OrderLine.supplier``), by SKU. A supplier since removed
        from the settings is left out (``unknown_suppliers`` names them)."""
        found: dict[str, Supplier] = {}
        for line in lines:
            supplier = None if line.supplier is None else self.config.supplier(line.supplier)
            if supplier is not None:
                found[line.sku] = supplier
        return found

    def unknown_suppliers(self, lines: Iterable[OrderLine]) -> dict[str, str]:
        """SKU -> supplier id, for lines whose supplier is no longer in the settings."""
        return {
            line.sku: line.supplier
            for line in lines
            if line.supplier is not None and self.config.supplier(line.supplier) is None
        }


def _published_config(config: ShopConfig) -> ShopConfig:
    """The configuration without what only pages use."""
    return replace(config, description=None, products_per_page=1)


def reduce_product(product: Product) -> Product:
    """A product as pricing sees it: no description, pictures, tags or reduced prices."""
    return Product(
        slug=product.slug,
        source=FILE_NAME,
        title=product.title,
        sku=product.sku,
        price=product.price,
        compare_at_price=None,
        category=product.category,
        tags=(),
        images=(),
        weight=product.weight,
        stock=product.stock,
        tax_class=product.tax_class,
        status=Status.ACTIVE,
        featured=False,
        date=None,
        summary=None,
        description="",
        variants=tuple(replace(v, compare_at_price=None) for v in product.variants),
        stock_counted=product.stock_counted,
        supplier=product.supplier,
        lead_time_days=product.lead_time_days,
    )


# -- the file --------------------------------------------------------------------


def published_path(root: Path) -> Path:
    """Where the build of the shop in ``root`` writes its published shop."""
    return root / FOLDER / FILE_NAME


def encode(shop: PublishedShop) -> str:
    """The file's text: canonical JSON (sorted keys, no spaces), its hash included."""
    body = _body(shop)
    document = {"format": FORMAT, "version": VERSION, "hash": _digest(body), **body}
    return _canonical(document) + "\n"


def decode(text: str | bytes) -> PublishedShop:
    """Read the file's text; raises PublishedShopError with what to run."""
    try:
        document = json.loads(text)
    except ValueError:
        raise PublishedShopError(_stale("is not valid JSON")) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise PublishedShopError(_stale("is not a comptoir published shop"))
    if document.get("version") != VERSION:
        raise PublishedShopError(
            _stale(f"is of version {document.get('version')!r}; this comptoir reads {VERSION}")
        )
    body = {k: v for k, v in document.items() if k not in ("format", "version", "hash")}
    digest = _digest(body)
    if document.get("hash") != digest:
        raise PublishedShopError(_stale("does not match its hash (edited or truncated?)"))
    try:
        currency = str(body["config"]["currency"])
        shop = PublishedShop(
            config=_config(body["config"]),
            catalogue=Catalogue(tuple(_product(p, currency) for p in body["products"])),
            pages=PageRoles(**body["pages"]),
            emails=EmailTheme(
                templates=dict(body["emails"]["templates"]),
                translations={
                    lang: base64.b64decode(mo)
                    for lang, mo in body["emails"]["translations"].items()
                },
            ),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise PublishedShopError(_stale("has an unexpected shape")) from None
    return replace(shop, hash=digest)


def write(shop: PublishedShop, path: Path) -> bool:
    """Write the file at once (readers see the old or the new one); False if unchanged."""
    data = encode(shop).encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
    return True


def load(path: Path) -> PublishedShop:
    """The published shop at ``path``; raises PublishedShopError saying what to run."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PublishedShopError(
            f"{path} is missing: run `comptoir build` first (it writes the published shop)"
        ) from None
    except OSError as error:
        raise PublishedShopError(f"{path} cannot be read ({error.strerror})") from None
    try:
        return decode(data)
    except PublishedShopError as error:
        raise PublishedShopError(f"{path} {error}") from None


def _stale(what: str) -> str:
    return f"{what}: run `comptoir build` to make it again"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(body).encode("utf-8")).hexdigest()


# -- encoding --------------------------------------------------------------------


def _body(shop: PublishedShop) -> dict[str, Any]:
    return {
        "config": _config_json(shop.config),
        "products": [_product_json(p) for p in shop.catalogue.products],
        "pages": {
            "legal_notice": shop.pages.legal_notice,
            "terms_of_sale": shop.pages.terms_of_sale,
            "withdrawal": shop.pages.withdrawal,
            "privacy": shop.pages.privacy,
            "order": shop.pages.order,
            "cart": shop.pages.cart,
        },
        "emails": {
            "templates": dict(shop.emails.templates),
            "translations": {
                lang: base64.b64encode(mo).decode("ascii")
                for lang, mo in shop.emails.translations.items()
            },
        },
    }


def _amount(money: Money | None) -> int | None:
    return None if money is None else money.amount


def _moment(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _day(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _product_json(product: Product) -> dict[str, Any]:
    return {
        "slug": product.slug,
        "title": product.title,
        "sku": product.sku,
        "price": product.price.amount,
        "category": product.category,
        "weight": product.weight,
        "stock": product.stock,
        "tax_class": product.tax_class,
        "variants": [
            {
                "sku": v.sku,
                "options": [list(pair) for pair in v.options],
                "price": v.price.amount,
                "stock": v.stock,
                "weight": v.weight,
                "stock_counted": _moment(v.stock_counted),
            }
            for v in product.variants
        ],
        "stock_counted": _moment(product.stock_counted),
        "supplier": product.supplier,
        "lead_time_days": product.lead_time_days,
    }


def _config_json(config: ShopConfig) -> dict[str, Any]:
    legal = config.legal
    return {
        "name": config.name,
        "base_url": config.base_url,
        "language": config.language,
        "currency": config.currency,
        "timezone": config.timezone,
        "legal": {
            "company": legal.company,
            "address": legal.address,
            "registration": legal.registration,
            "vat_number": legal.vat_number,
            "director": legal.director,
            "email": legal.email,
            "host": legal.host,
            "legal_form": legal.legal_form,
            "phone": legal.phone,
            "mediator": legal.mediator,
            "host_phone": legal.host_phone,
        },
        "tax_classes": {name: str(tax.rate) for name, tax in config.tax_classes.items()},
        "default_tax_class": config.default_tax_class,
        "shipping_zones": [
            {
                "id": zone.id,
                "name": zone.name,
                "countries": list(zone.countries),
                "methods": [
                    {
                        "id": m.id,
                        "name": m.name,
                        "by": m.by,
                        "price": _amount(m.price),
                        "bands": [[b.up_to, b.price.amount] for b in m.bands],
                        "free_over": _amount(m.free_over),
                        "pickup": m.pickup,
                    }
                    for m in zone.methods
                ],
            }
            for zone in config.shipping_zones
        ],
        "email": {"sender": config.email.sender, "orders_to": config.email.orders_to},
        "discounts": [
            {
                "code": d.code,
                "label": d.label,
                "kind": d.kind,
                "percent": None if d.percent is None else str(d.percent),
                "amount": _amount(d.amount),
                "starts": _day(d.starts),
                "ends": _day(d.ends),
                "minimum_subtotal": _amount(d.minimum_subtotal),
                "categories": list(d.categories),
                "products": list(d.products),
                "usage_limit": d.usage_limit,
            }
            for d in config.discounts
        ],
        "cart_rules": [
            {"name": r.name, "buy": r.buy, "categories": list(r.categories)}
            for r in config.cart_rules
        ],
        "stock_low_threshold": config.stock_low_threshold,
        "suppliers": [
            {
                "id": s.id,
                "name": s.name,
                "email": s.email,
                "webhook_url": s.webhook_url,
                "show_prices": s.show_prices,
                "secret_env": s.secret_env,
            }
            for s in config.suppliers
        ],
        "oversold": config.oversold,
        "carriers": dict(config.carriers),
        "accounting": _accounting_json(config.accounting),
        "webhooks": [
            {"url": w.url, "events": list(w.events), "secret_env": w.secret_env}
            for w in config.webhooks
        ],
    }


def _accounting_json(accounting: AccountingSettings) -> dict[str, Any]:
    return {
        "journal": accounting.journal,
        "journal_label": accounting.journal_label,
        **{name: getattr(accounting, name) for name in DEFAULT_ACCOUNTS},
        "sales_by_rate": {str(rate): a for rate, a in accounting.sales_by_rate.items()},
        "vat_by_rate": {str(rate): a for rate, a in accounting.vat_by_rate.items()},
    }


def _accounting(entry: Mapping[str, Any] | None) -> AccountingSettings:
    if entry is None:  # a shop published before accounting settings existed
        return AccountingSettings()
    return AccountingSettings(
        journal=str(entry["journal"]),
        journal_label=str(entry["journal_label"]),
        sales_by_rate={Decimal(r): str(a) for r, a in entry["sales_by_rate"].items()},
        vat_by_rate={Decimal(r): str(a) for r, a in entry["vat_by_rate"].items()},
        **{name: str(entry[name]) for name in DEFAULT_ACCOUNTS},
    )


# -- decoding --------------------------------------------------------------------


def _optional(value: Any, make: Callable[[Any], T]) -> T | None:
    return None if value is None else make(value)


def _product(entry: Mapping[str, Any], currency: str) -> Product:
    def money(amount: Any) -> Money:
        return Money(_integer(amount), currency)

    return reduce_product(
        Product(
            slug=str(entry["slug"]),
            source=FILE_NAME,
            title=str(entry["title"]),
            sku=str(entry["sku"]),
            price=money(entry["price"]),
            compare_at_price=None,
            category=str(entry["category"]),
            tags=(),
            images=(),
            weight=_optional(entry["weight"], _integer),
            stock=_optional(entry["stock"], _integer),
            stock_counted=_optional(entry.get("stock_counted"), dt.datetime.fromisoformat),
            supplier=_optional(entry.get("supplier"), str),
            lead_time_days=_optional(entry.get("lead_time_days"), _integer),
            tax_class=str(entry["tax_class"]),
            status=Status.ACTIVE,
            featured=False,
            date=None,
            summary=None,
            description="",
            variants=tuple(
                Variant(
                    sku=str(v["sku"]),
                    options=tuple((str(name), str(value)) for name, value in v["options"]),
                    price=money(v["price"]),
                    compare_at_price=None,
                    stock=_optional(v["stock"], _integer),
                    weight=_optional(v["weight"], _integer),
                    stock_counted=_optional(v.get("stock_counted"), dt.datetime.fromisoformat),
                )
                for v in entry["variants"]
            ),
        )
    )


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, not {type(value).__name__}")
    return value


def _config(entry: Mapping[str, Any]) -> ShopConfig:
    currency = str(entry["currency"])

    def money(amount: Any) -> Money:
        return Money(_integer(amount), currency)

    return ShopConfig(
        name=str(entry["name"]),
        base_url=str(entry["base_url"]),
        language=str(entry["language"]),
        currency=currency,
        timezone=str(entry["timezone"]),
        description=None,
        products_per_page=1,
        legal=LegalIdentity(**entry["legal"]),
        tax_classes={
            name: TaxClass(name, Decimal(rate)) for name, rate in entry["tax_classes"].items()
        },
        default_tax_class=str(entry["default_tax_class"]),
        shipping_zones=tuple(
            ShippingZone(
                id=str(zone["id"]),
                name=str(zone["name"]),
                countries=tuple(zone["countries"]),
                methods=tuple(
                    ShippingMethod(
                        id=str(m["id"]),
                        name=str(m["name"]),
                        by=str(m["by"]),
                        price=_optional(m["price"], money),
                        bands=tuple(Band(_integer(up), money(price)) for up, price in m["bands"]),
                        free_over=_optional(m["free_over"], money),
                        pickup=bool(m["pickup"]),
                    )
                    for m in zone["methods"]
                ),
            )
            for zone in entry["shipping_zones"]
        ),
        email=EmailSettings(str(entry["email"]["sender"]), str(entry["email"]["orders_to"])),
        discounts=tuple(
            Discount(
                code=str(d["code"]),
                label=str(d["label"]),
                kind=str(d["kind"]),
                percent=_optional(d["percent"], Decimal),
                amount=_optional(d["amount"], money),
                starts=_optional(d["starts"], dt.date.fromisoformat),
                ends=_optional(d["ends"], dt.date.fromisoformat),
                minimum_subtotal=_optional(d["minimum_subtotal"], money),
                categories=tuple(d["categories"]),
                products=tuple(d["products"]),
                usage_limit=_optional(d["usage_limit"], _integer),
            )
            for d in entry["discounts"]
        ),
        cart_rules=tuple(
            CartRule(str(r["name"]), _integer(r["buy"]), tuple(r["categories"]))
            for r in entry["cart_rules"]
        ),
        stock_low_threshold=_optional(entry.get("stock_low_threshold"), _integer),
        suppliers=tuple(Supplier(**s) for s in entry.get("suppliers", ())),
        oversold=str(entry.get("oversold", "hold")),
        carriers={str(name): str(url) for name, url in entry["carriers"].items()},
        accounting=_accounting(entry.get("accounting")),
        webhooks=tuple(
            WebhookEndpoint(str(w["url"]), tuple(w["events"]), str(w["secret_env"]))
            for w in entry.get("webhooks", ())
        ),
    )
