"""The shop's configuration, read once from ``content/shop.yaml`` into typed objects."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from email.utils import parseaddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shop.money import Money, known_currencies
from shop.problems import Problems
from shop.yamldoc import MapReader, Node, as_map

LANGUAGES = {"fr": "fr_FR", "en": "en_IE"}
LEGAL_ROLES = ("legal-notice", "terms-of-sale", "withdrawal", "privacy")
PAGE_ROLES = (*LEGAL_ROLES, "about")

# What a late payment for units already sold elsewhere becomes (``oversold:`` in shop.yaml):
# "hold" waits for the merchant's decision, "refund" refunds it at once with an apology.
OVERSOLD_POLICIES = ("hold", "refund")

# Carriers' tracking pages, "{tracking}" standing for the parcel's code; shop.yaml's
# ``carriers:`` adds others or replaces these.
DEFAULT_CARRIERS: dict[str, str] = {
    "colissimo": "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking}",
    "mondial-relay": "https://www.mondialrelay.fr/suivi-de-colis/?numeroExpedition={tracking}",
}
TRACKING_PLACEHOLDER = "{tracking}"

# The French chart of accounts (PCG) accounts the sales journal uses unless shop.yaml's
# ``accounting:`` says otherwise: clients, sales of goods, shipping charged, VAT collected,
# and, for Stripe's fees once they are known, bank charges and the Stripe balance.
DEFAULT_ACCOUNTS: dict[str, str] = {
    "customers": "411000",
    "sales": "707000",
    "shipping": "708500",
    "vat": "445710",
    "fees": "627800",
    "stripe": "512200",
}
# The class an account must belong to (its first digits), with what it is in the PCG.
ACCOUNT_CLASSES: dict[str, tuple[str, str]] = {
    "customers": ("411", "a customers account (411…)"),
    "sales": ("70", "a sales account (706… or 707…)"),
    "shipping": ("70", "a sales account (7085…)"),
    "vat": ("4457", "a VAT collected account (44571…)"),
    "fees": ("6", "an expense account (6278…)"),
    "stripe": ("5", "a bank or cash account (512…)"),
}
ACCOUNTING_KEYS = (
    "journal",
    "journal_label",
    *DEFAULT_ACCOUNTS,
    "sales_by_rate",
    "vat_by_rate",
)
# What an outgoing webhook can subscribe to (``webhooks:`` in shop.yaml).
WEBHOOK_EVENTS = ("order.paid", "order.shipped", "order.refunded", "order.cancelled", "stock.low")
# A webhook's signing secret comes from an environment variable with this prefix: shop.yaml
# names it and never holds it, and cannot point at another secret (STRIPE_SECRET_KEY…).
WEBHOOK_SECRET_PREFIX = "COMPTOIR_WEBHOOK_"  # noqa: S105 (a name, not a secret)

_COUNTRY = re.compile(r"[A-Z]{2}")
_ACCOUNT = re.compile(r"[0-9][0-9A-Z]{2,19}")
_JOURNAL = re.compile(r"[A-Z0-9]{1,10}")
_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class LegalIdentity:
    """Who runs the shop, as French law (LCEN art. 6-III) asks it to be shown."""

    company: str
    address: str
    registration: str
    vat_number: str
    director: str
    email: str
    host: str
    legal_form: str | None = None
    phone: str | None = None
    mediator: str | None = None
    host_phone: str | None = None


@dataclass(frozen=True, slots=True)
class TaxClass:
    name: str
    rate: Decimal  # percent, e.g. Decimal("5.5")


@dataclass(frozen=True, slots=True)
class Band:
    """A shipping price up to a weight (grams) or an order total (minor units), inclusive."""

    up_to: int
    price: Money


@dataclass(frozen=True, slots=True)
class ShippingMethod:
    id: str
    name: str
    by: str  # "flat", "weight" or "total"
    price: Money | None
    bands: tuple[Band, ...]
    free_over: Money | None
    pickup: bool


@dataclass(frozen=True, slots=True)
class ShippingZone:
    id: str
    name: str
    countries: tuple[str, ...]
    methods: tuple[ShippingMethod, ...]


@dataclass(frozen=True, slots=True)
class EmailSettings:
    sender: str
    orders_to: str


@dataclass(frozen=True, slots=True)
class Discount:
    """A promo code a shopper types at checkout."""

    code: str  # upper case
    label: str
    kind: str  # "percent", "amount" or "free_shipping"
    percent: Decimal | None
    amount: Money | None
    starts: dt.date | None
    ends: dt.date | None  # inclusive
    minimum_subtotal: Money | None
    categories: tuple[str, ...]
    products: tuple[str, ...]  # product or variant SKUs
    usage_limit: int | None


@dataclass(frozen=True, slots=True)
class CartRule:
    """An automatic rule: per full group of ``buy`` eligible units, the cheapest is free."""

    name: str
    buy: int
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Supplier:
    """Who fulfils some products (dropshipping, made to order): told of each paid order's
    lines that are theirs, by e-mail or at a webhook address."""

    id: str
    name: str
    email: str | None
    webhook_url: str | None
    show_prices: bool = False
    # The environment variable holding the webhook's signing secret (with ``webhook_url``).
    secret_env: str | None = None


@dataclass(frozen=True, slots=True)
class AccountingSettings:
    """The sales journal's code and accounts (shop.yaml ``accounting:``, PCG defaults)."""

    journal: str = "VE"
    journal_label: str = "Ventes"
    customers: str = DEFAULT_ACCOUNTS["customers"]
    sales: str = DEFAULT_ACCOUNTS["sales"]
    shipping: str = DEFAULT_ACCOUNTS["shipping"]
    vat: str = DEFAULT_ACCOUNTS["vat"]
    fees: str = DEFAULT_ACCOUNTS["fees"]
    stripe: str = DEFAULT_ACCOUNTS["stripe"]
    sales_by_rate: dict[Decimal, str] = field(default_factory=dict)  # rate -> account
    vat_by_rate: dict[Decimal, str] = field(default_factory=dict)

    def sales_account(self, rate: Decimal) -> str:
        return self.sales_by_rate.get(rate, self.sales)

    def shipping_account(self, rate: Decimal) -> str:
        return self.shipping

    def vat_account(self, rate: Decimal) -> str:
        return self.vat_by_rate.get(rate, self.vat)


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """Where to send some events (Zapier, Make, an ERP), signed with the secret held in
    the environment variable ``secret_env``."""

    url: str
    events: tuple[str, ...]  # of WEBHOOK_EVENTS
    secret_env: str


@dataclass(frozen=True, slots=True)
class ShopConfig:
    name: str
    base_url: str
    language: str
    currency: str
    timezone: str
    description: str | None
    products_per_page: int
    legal: LegalIdentity
    tax_classes: dict[str, TaxClass]
    default_tax_class: str
    shipping_zones: tuple[ShippingZone, ...]
    email: EmailSettings
    discounts: tuple[Discount, ...] = ()
    cart_rules: tuple[CartRule, ...] = ()
    stock_low_threshold: int | None = None  # stock.low_threshold: alert at or below it
    suppliers: tuple[Supplier, ...] = ()

    def supplier(self, supplier_id: str) -> Supplier | None:
        return next((s for s in self.suppliers if s.id == supplier_id), None)

    oversold: str = "hold"  # one of OVERSOLD_POLICIES
    carriers: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CARRIERS))
    accounting: AccountingSettings = field(default_factory=AccountingSettings)
    webhooks: tuple[WebhookEndpoint, ...] = ()

    def discount(self, code: str) -> Discount | None:
        wanted = code.strip().upper()
        return next((d for d in self.discounts if d.code == wanted), None)

    @property
    def locale(self) -> str:
        """The babel locale used to format money and dates."""
        return LANGUAGES[self.language]

    def url(self, path: str) -> str:
        """Absolute URL of a site path ("/cart/" -> "https://shop.example/cart/")."""
        return self.base_url + path


SHOP_KEYS = (
    "name",
    "base_url",
    "language",
    "currency",
    "timezone",
    "description",
    "products_per_page",
    "legal",
    "tax",
    "shipping",
    "email",
    "discounts",
    "cart_rules",
    "stock",
    "suppliers",
    "oversold",
    "carriers",
    "accounting",
    "webhooks",
)
DISCOUNT_KEYS = (
    "code",
    "label",
    "kind",
    "value",
    "starts",
    "ends",
    "minimum_subtotal",
    "categories",
    "products",
    "usage_limit",
)
LEGAL_KEYS = (
    "company",
    "legal_form",
    "address",
    "registration",
    "vat_number",
    "director",
    "email",
    "phone",
    "host",
    "host_phone",
    "mediator",
)
LEGAL_REQUIRED = ("company", "address", "registration", "vat_number", "director", "email", "host")


def read_config(root: Node, problems: Problems) -> ShopConfig | None:
    """Validate shop.yaml; returns None when it is too broken to use."""
    shop = as_map(root, problems, SHOP_KEYS, "shop.yaml")
    if shop is None:
        return None
    name = shop.text("name", required=True, example="name: Ma Boutique")
    base_url = _base_url(shop)
    language = shop.choice("language", tuple(LANGUAGES), "fr")
    if not shop.has("language"):
        shop.get("language", required=True, example="language: fr")
    currency = _currency(shop)
    timezone = shop.text("timezone") or "Europe/Paris"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        shop.error(
            shop.values["timezone"],
            f"unknown time zone '{timezone}': write one such as Europe/Paris",
        )
        timezone = "Europe/Paris"
    description = shop.text("description")
    per_page = shop.integer("products_per_page", minimum=1) or 24
    legal = _legal(shop)
    tax = _tax(shop)
    zones = _shipping(shop, currency or "EUR")
    email = _email(shop)
    discounts = _discounts(shop, currency or "EUR")
    rules = _cart_rules(shop)
    stock = shop.submap("stock", ("low_threshold",), "the 'stock' section")
    low_threshold = None if stock is None else stock.integer("low_threshold", minimum=0)
    suppliers = _suppliers(shop)
    oversold = shop.choice("oversold", OVERSOLD_POLICIES, "hold")
    carriers = _carriers(shop)
    accounting = _accounting(shop)
    webhooks = _webhooks(shop)
    if None in (name, base_url, currency, legal, tax, email):
        return None
    assert name and base_url and currency and legal and tax and email
    classes, default_class = tax
    return ShopConfig(
        name=name,
        base_url=base_url,
        language=language,
        currency=currency,
        timezone=timezone,
        description=description,
        products_per_page=per_page,
        legal=legal,
        tax_classes=classes,
        default_tax_class=default_class,
        shipping_zones=zones,
        email=email,
        discounts=discounts,
        cart_rules=rules,
        stock_low_threshold=low_threshold,
        suppliers=suppliers,
        oversold=oversold,
        carriers=carriers,
        accounting=accounting,
        webhooks=webhooks,
    )


def _accounting(shop: MapReader) -> AccountingSettings:
    """The ``accounting:`` section: every account a PCG number of the right class."""
    section = shop.submap("accounting", ACCOUNTING_KEYS, "the 'accounting' section")
    if section is None:
        return AccountingSettings()
    accounts = dict(DEFAULT_ACCOUNTS)
    for key in DEFAULT_ACCOUNTS:
        account = _account(section, key, section.text(key), key)
        if account is not None:
            accounts[key] = account
    journal = section.text("journal") or "VE"
    if not _JOURNAL.fullmatch(journal):
        section.error(
            section.values["journal"],
            f"'journal' must be a short code in capitals and digits such as VE, not '{journal}'",
        )
        journal = "VE"
    return AccountingSettings(
        journal=journal,
        journal_label=section.text("journal_label") or "Ventes",
        sales_by_rate=_accounts_by_rate(section, "sales_by_rate", "sales"),
        vat_by_rate=_accounts_by_rate(section, "vat_by_rate", "vat"),
        **accounts,
    )


def _account(section: MapReader, key: str, value: str | None, kind: str) -> str | None:
    if value is None:
        return None
    prefix, what = ACCOUNT_CLASSES[kind]
    node = section.values[key]
    if not _ACCOUNT.fullmatch(value):
        section.error(
            node,
            f"'{key}' must be an account number such as {DEFAULT_ACCOUNTS[kind]}, not '{value}'",
        )
        return None
    if not value.startswith(prefix):
        section.error(node, f"'{key}' must be {what}, not '{value}'")
        return None
    return value


def _accounts_by_rate(section: MapReader, key: str, kind: str) -> dict[Decimal, str]:
    node = section.get(key)
    if node is None:
        return {}
    if not node.is_map:
        section.error(
            node,
            f"'{key}' must list accounts by VAT rate, e.g. {key}: {{\"20\": "
            f'"{DEFAULT_ACCOUNTS[kind]}"}}',
        )
        return {}
    prefix, what = ACCOUNT_CLASSES[kind]
    result: dict[Decimal, str] = {}
    for rate_text, key_node, value in node.entries():
        rate = _rate(rate_text)
        account = value.text.strip() if value.is_scalar and not value.is_null else ""
        if rate is None:
            section.error(key_node, f"'{rate_text}' in '{key}' is not a VAT rate such as \"20\"")
        elif not _ACCOUNT.fullmatch(account) or not account.startswith(prefix):
            section.error(value, f"the account for {rate_text} % in '{key}' must be {what}")
        else:
            result[rate] = account
    return result


def _webhooks(shop: MapReader) -> tuple[WebhookEndpoint, ...]:
    """``webhooks:``: where to send which events, and the variable holding each secret."""
    result: list[WebhookEndpoint] = []
    for node in shop.seq("webhooks"):
        entry = as_map(node, shop.problems, ("url", "events", "secret_env"), "a webhook")
        if entry is None:
            continue
        url = entry.text("url", required=True, example="url: https://hooks.zapier.com/…")
        if url is not None and not _webhook_url(url):
            entry.error(
                entry.values["url"],
                f"'url' must be an https:// address (http:// only to this machine), not '{url}'",
            )
            url = None
        events = entry.text_list("events")
        if not entry.has("events"):
            entry.get("events", required=True, example="events: [order.paid, order.shipped]")
        for event in events:
            if event not in WEBHOOK_EVENTS:
                entry.error(
                    entry.values["events"],
                    f"unknown event '{event}': choose among {', '.join(WEBHOOK_EVENTS)}",
                )
        secret = entry.text(
            "secret_env", required=True, example=f"secret_env: {WEBHOOK_SECRET_PREFIX}ERP"
        )
        if secret is not None and not re.fullmatch(
            re.escape(WEBHOOK_SECRET_PREFIX) + r"[A-Z0-9_]{1,64}", secret
        ):
            entry.error(
                entry.values["secret_env"],
                f"'secret_env' names the environment variable holding the signing secret "
                f"(never the secret itself): a name such as {WEBHOOK_SECRET_PREFIX}ERP, "
                f"not '{secret}'",
            )
            secret = None
        known = tuple(e for e in events if e in WEBHOOK_EVENTS)
        if url is not None and secret is not None and known and len(known) == len(events):
            result.append(WebhookEndpoint(url, tuple(dict.fromkeys(known)), secret))
    return tuple(result)


def _webhook_url(url: str) -> bool:
    if re.fullmatch(r"https://[^\s/?#]+[^\s]*", url):
        return True
    return re.fullmatch(r"http://(127\.0\.0\.1|localhost)(:[0-9]{1,5})?(/[^\s]*)?", url) is not None


def _carriers(shop: MapReader) -> dict[str, str]:
    """Comptoir's carriers, with the shop's own added (or replacing them by name)."""
    carriers = dict(DEFAULT_CARRIERS)
    node = shop.get("carriers")
    if node is None:
        return carriers
    if not node.is_map:
        shop.error(
            node,
            "'carriers' must list each carrier as 'name: tracking address', e.g. "
            'colissimo: "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking}"',
        )
        return carriers
    for name, key_node, value in node.entries():
        if not _ID.fullmatch(name):
            shop.error(
                key_node,
                f"carrier '{name}' must be lower-case letters, digits, '-' or '_' "
                "(e.g. mondial-relay)",
            )
            continue
        url = value.text.strip() if value.is_scalar and not value.is_null else ""
        if not re.fullmatch(r"https?://[^\s]+", url) or url.count(TRACKING_PLACEHOLDER) != 1:
            shop.error(
                value,
                f"carrier '{name}' needs its tracking page's address with {{tracking}} where "
                'the parcel\'s code goes, e.g. "https://suivi.example/?code={tracking}"',
            )
            continue
        carriers[name] = url
    return carriers


def _base_url(shop: MapReader) -> str | None:
    url = shop.text("base_url", required=True, example="base_url: https://ma-boutique.fr")
    if url is None:
        return None
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
        shop.error(
            shop.values["base_url"],
            f"'base_url' must be a full address such as https://ma-boutique.fr, not '{url}'",
        )
        return None
    return url.rstrip("/")


def _currency(shop: MapReader) -> str | None:
    code = shop.text("currency", required=True, example="currency: EUR")
    if code is None:
        return None
    if code.upper() not in known_currencies() or len(code) != 3:
        shop.error(
            shop.values["currency"],
            f"'currency' must be an ISO 4217 code such as EUR, not '{code}'",
        )
        return None
    return code.upper()


def _legal(shop: MapReader) -> LegalIdentity | None:
    legal = shop.submap("legal", LEGAL_KEYS, "the 'legal' section", required=True)
    if legal is None:
        return None
    values: dict[str, str | None] = {}
    for key in LEGAL_KEYS:
        required = key in LEGAL_REQUIRED
        values[key] = legal.text(
            key,
            required=required,
            example=f"{key}: … (the law asks every shop to show it in its legal notice)",
        )
    email = values["email"]
    if email and not _is_address(email):
        legal.error(legal.values["email"], f"'email' must be an e-mail address, not '{email}'")
        return None
    if any(values[key] is None for key in LEGAL_REQUIRED):
        return None
    return LegalIdentity(**values)  # type: ignore[arg-type]


def _tax(shop: MapReader) -> tuple[dict[str, TaxClass], str] | None:
    tax = shop.submap("tax", ("default_class", "classes"), "the 'tax' section", required=True)
    if tax is None:
        return None
    classes: dict[str, TaxClass] = {}
    node = tax.get("classes", required=True, example='classes: {standard: "20"}')
    if node is not None:
        if not node.is_map:
            tax.error(
                node, "'classes' must list each tax class as 'name: rate', e.g. standard: \"20\""
            )
        else:
            for key, key_node, value in node.entries():
                rate = _rate(value.text if value.is_scalar else "")
                if rate is None:
                    tax.error(
                        value,
                        f"tax class '{key}' needs a rate in percent such as \"20\" or "
                        f'"5.5", not {value.text!r}',
                    )
                    continue
                if key in classes:
                    tax.error(key_node, f"tax class '{key}' is defined twice")
                classes[key] = TaxClass(key, rate)
    default = tax.text("default_class", required=True, example="default_class: standard")
    if default is not None and classes and default not in classes:
        tax.error(
            tax.values["default_class"],
            f"'default_class' is '{default}' but the classes are {', '.join(classes)}",
        )
        return None
    if default is None or not classes:
        return None
    return classes, default


def _rate(text: str) -> Decimal | None:
    if not re.fullmatch(r"\d{1,2}(\.\d{1,3})?", text.strip()):
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:  # pragma: no cover - the pattern already guards
        return None


def _shipping(shop: MapReader, currency: str) -> tuple[ShippingZone, ...]:
    shipping = shop.submap("shipping", ("zones",), "the 'shipping' section")
    if shipping is None:
        return ()
    zones: list[ShippingZone] = []
    seen: set[str] = set()
    for node in shipping.seq("zones"):
        zone = as_map(
            node, shop.problems, ("id", "name", "countries", "methods"), "a shipping zone"
        )
        if zone is None:
            continue
        zone_id = _identifier(zone, "id", "fr")
        name = zone.text("name", required=True, example="name: France métropolitaine")
        countries = zone.text_list("countries")
        if not zone.has("countries"):
            zone.get("countries", required=True, example="countries: [FR]")
        for code in countries:
            if not _COUNTRY.fullmatch(code):
                zone.error(
                    zone.values["countries"],
                    f"'{code}' is not a country code: use two capital letters such as FR",
                )
        if zone_id and zone_id in seen:
            zone.error(zone.values["id"], f"shipping zone id '{zone_id}' is used twice")
        methods = tuple(
            m
            for m in (
                _method(item, shop.problems, currency)
                for item in zone.seq("methods", required=True)
            )
            if m is not None
        )
        if zone_id and name:
            seen.add(zone_id)
            zones.append(ShippingZone(zone_id, name, tuple(countries), methods))
    return tuple(zones)


def _identifier(reader: MapReader, key: str, example: str) -> str | None:
    value = reader.text(key, required=True, example=f"{key}: {example}")
    if value is not None and not _ID.fullmatch(value):
        reader.error(
            reader.values[key],
            f"'{key}' must be lowercase letters, digits and hyphens, not '{value}'",
        )
        return None
    return value


def _method(node: Node, problems: Problems, currency: str) -> ShippingMethod | None:
    method = as_map(
        node,
        problems,
        ("id", "name", "by", "bands", "price", "free_over", "pickup"),
        "a shipping method",
    )
    if method is None:
        return None
    method_id = _identifier(method, "id", "colissimo")
    name = method.text("name", required=True, example="name: Colissimo")
    pickup = method.boolean("pickup")
    free_over = method.money("free_over", currency)
    price = method.money("price", currency)
    bands: list[Band] = []
    by = "flat"
    if method.has("by") or method.has("bands"):
        by = method.choice("by", ("weight", "total"), "weight")
        if price is not None:
            method.error(
                method.values["price"],
                "a method has either a flat 'price' or 'by' + 'bands', not both",
            )
        previous = -1
        for band_node in method.seq("bands", required=True):
            band = as_map(band_node, problems, ("up_to", "price"), "a shipping band")
            if band is None:
                continue
            if by == "weight":
                limit = band.integer("up_to", minimum=1, unit=" of grams", required=True)
            else:
                money = band.money("up_to", currency, required=True)
                limit = money.amount if money else None
            band_price = band.money("price", currency, required=True)
            if limit is not None and limit <= previous:
                band.error(
                    band.values["up_to"],
                    "'up_to' must grow from one band to the next (list bands in order)",
                )
            if limit is not None and band_price is not None:
                bands.append(Band(limit, band_price))
                previous = limit
    elif price is None:
        method.problems.add(
            method.node.path,
            method.node.line,
            f"shipping method '{method_id}' needs a 'price' (flat) or 'by' and 'bands'",
        )
    if method_id is None or name is None:
        return None
    return ShippingMethod(method_id, name, by, price, tuple(bands), free_over, pickup)


def _email(shop: MapReader) -> EmailSettings | None:
    email = shop.submap("email", ("from", "orders_to"), "the 'email' section", required=True)
    if email is None:
        return None
    sender = email.text(
        "from", required=True, example='from: "Ma Boutique <commandes@ma-boutique.fr>"'
    )
    orders_to = email.text(
        "orders_to", required=True, example="orders_to: commandes@ma-boutique.fr"
    )
    for key, value in (("from", sender), ("orders_to", orders_to)):
        if value is not None and not _is_address(parseaddr(value)[1]):
            email.error(email.values[key], f"'{key}' must be an e-mail address, not '{value}'")
            return None
    if sender is None or orders_to is None:
        return None
    return EmailSettings(sender, orders_to)


def _is_address(value: str) -> bool:
    return bool(re.fullmatch(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[A-Za-z]{2,}", value))


def _discounts(shop: MapReader, currency: str) -> tuple[Discount, ...]:
    result: list[Discount] = []
    seen: set[str] = set()
    for node in shop.seq("discounts"):
        entry = as_map(node, shop.problems, DISCOUNT_KEYS, "a discount")
        if entry is None:
            continue
        code = entry.text("code", required=True, example="code: BIENVENUE10")
        if code is not None and not re.fullmatch(r"[A-Za-z0-9_-]{3,32}", code):
            entry.error(
                entry.values["code"], f"code '{code}' must be 3 to 32 letters, digits, '-' or '_'"
            )
            code = None
        if code is not None and code.upper() in seen:
            entry.error(entry.values["code"], f"code '{code}' is defined twice")
            code = None
        kind = entry.choice("kind", ("percent", "amount", "free_shipping"), "percent")
        if not entry.has("kind"):
            entry.get("kind", required=True, example="kind: percent")
        percent: Decimal | None = None
        amount: Money | None = None
        if kind == "percent":
            text = entry.text("value", required=True, example='value: "10"')
            percent = _rate(text) if text else None
            if text is not None and (percent is None or not 0 < percent <= 100):
                entry.error(
                    entry.values["value"],
                    f"a percent discount needs a value from 1 to 100, not '{text}'",
                )
                percent = None
        elif kind == "amount":
            amount = entry.money("value", currency, required=True)
        starts, ends = entry.date("starts"), entry.date("ends")
        if starts and ends and ends < starts:
            entry.error(entry.values["ends"], "'ends' is before 'starts'")
        minimum = entry.money("minimum_subtotal", currency)
        limit = entry.integer("usage_limit", minimum=1)
        label = entry.text("label") or code or ""
        if (
            code is None
            or (kind == "percent" and percent is None)
            or (kind == "amount" and amount is None)
        ):
            continue
        seen.add(code.upper())
        result.append(
            Discount(
                code.upper(),
                label,
                kind,
                percent,
                amount,
                starts,
                ends,
                minimum,
                tuple(entry.text_list("categories")),
                tuple(entry.text_list("products")),
                limit,
            )
        )
    return tuple(result)


def _cart_rules(shop: MapReader) -> tuple[CartRule, ...]:
    result: list[CartRule] = []
    for node in shop.seq("cart_rules"):
        rule = as_map(node, shop.problems, ("name", "kind", "buy", "categories"), "a cart rule")
        if rule is None:
            continue
        name = rule.text("name", required=True, example="name: 3 achetés, le moins cher offert")
        rule.choice("kind", ("cheapest_free",), "cheapest_free")
        buy = rule.integer("buy", minimum=2, required=True)
        if name is not None and buy is not None:
            result.append(CartRule(name, buy, tuple(rule.text_list("categories"))))
    return tuple(result)


def _suppliers(shop: MapReader) -> tuple[Supplier, ...]:
    result: list[Supplier] = []
    for node in shop.seq("suppliers"):
        entry = as_map(
            node,
            shop.problems,
            ("id", "name", "email", "webhook_url", "secret_env", "show_prices"),
            "a supplier",
        )
        if entry is None:
            continue
        supplier_id = entry.text("id", required=True, example="id: atelier-dupont")
        name = entry.text("name", required=True, example="name: Atelier Dupont")
        email, url = entry.text("email"), entry.text("webhook_url")
        if supplier_id is not None and not _ID.fullmatch(supplier_id):
            entry.error(
                entry.values["id"],
                f"supplier id '{supplier_id}' may hold only a-z, 0-9, '-' and '_'",
            )
            supplier_id = None
        elif supplier_id is not None and any(s.id == supplier_id for s in result):
            entry.error(entry.values["id"], f"supplier id '{supplier_id}' is used twice")
            supplier_id = None
        if email is not None and not _is_address(email):
            entry.error(entry.values["email"], f"'email' must be an e-mail address, not '{email}'")
            email = None
        if url is not None and not _webhook_url(url):
            entry.error(
                entry.values["webhook_url"],
                f"'webhook_url' must be an https:// address (http:// only to this machine), "
                f"not '{url}'",
            )
            url = None
        secret = _supplier_secret(entry, url)
        if not entry.has("email") and not entry.has("webhook_url"):
            entry.error(
                node,
                "this supplier needs an 'email' (or a 'webhook_url') to be told of its orders",
            )
            continue
        if url is not None and secret is None:
            url = None  # an unsigned POST of a shopper's address is never sent
        if supplier_id is not None and name is not None and (email or url):
            show_prices = entry.boolean("show_prices")
            result.append(Supplier(supplier_id, name, email, url, show_prices, secret))
    return tuple(result)


def _supplier_secret(entry: MapReader, url: str | None) -> str | None:
    """A supplier's ``secret_env``: required with a ``webhook_url`` (what it receives is a
    shopper's address: it must be able to check that the shop sent it), refused without."""
    example = f"secret_env: {WEBHOOK_SECRET_PREFIX}ATELIER_DUPONT"
    if not entry.has("webhook_url"):
        if entry.has("secret_env"):
            entry.error(
                entry.values["secret_env"],
                "'secret_env' signs the supplier's webhook: add its 'webhook_url', "
                "or remove 'secret_env'",
            )
        return None
    secret = entry.text("secret_env", required=True, example=example)
    if secret is not None and not re.fullmatch(
        re.escape(WEBHOOK_SECRET_PREFIX) + r"[A-Z0-9_]{1,64}", secret
    ):
        entry.error(
            entry.values["secret_env"],
            f"'secret_env' names the environment variable holding the signing secret "
            f"(never the secret itself): a name such as {WEBHOOK_SECRET_PREFIX}ATELIER_DUPONT, "
            f"not '{secret}'",
        )
        return None
    return secret if url is not None else None
