"""The published shop: what the build hands the functions, and all they read.

Exact round trip; a missing, edited or other-version file is one clear error saying
what to run; discount codes never reach ``output/``; the functions price, check out
and write e-mails from it alone, never opening ``content/`` or a ``theme/``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.settings import ConfigurationError
from generator import TEMPLATE_ROOT
from generator.build import BuildError, build, check
from generator.publish import published_shop
from shop.catalogue import Catalogue, Product, Status, Variant
from shop.config import (
    OVERSOLD_POLICIES,
    WEBHOOK_EVENTS,
    AccountingSettings,
    CartRule,
    Discount,
    Supplier,
    WebhookEndpoint,
)
from shop.money import Money
from shop.published import (
    VERSION,
    PublishedShop,
    PublishedShopError,
    decode,
    encode,
    load,
    published_path,
)
from tests.apishop import MINI, PROMOS, running_stack
from tests.test_checkout_flow import pay, wait_for

ROOT = TEMPLATE_ROOT
CODES = ("BIENVENUE10", "UNEFOIS")


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini shop with two promo codes, built."""
    root = tmp_path_factory.mktemp("published") / "shop"
    shutil.copytree(MINI, root)
    config = root / "content" / "shop.yaml"
    config.write_text(config.read_text() + PROMOS)
    build(root)
    return root


def example() -> PublishedShop:
    content = check(ROOT)
    assert content.config is not None
    return published_shop(ROOT, content, content.config)


# -- the artefact ----------------------------------------------------------------------


def test_the_build_writes_it_outside_output_and_it_round_trips(mini: Path) -> None:
    path = published_path(mini)
    assert path.is_file() and (mini / "output") not in path.parents
    text = path.read_text(encoding="utf-8")
    shop = decode(text)
    assert encode(shop) == text
    assert decode(encode(shop)) == shop
    assert shop.hash == json.loads(text)["hash"]
    assert [d.code for d in shop.config.discounts] == list(CODES)
    assert shop.pages.withdrawal == "/retractation/" and shop.pages.terms_of_sale == "/cgv/"
    draft = "brouillon"
    assert all(p.slug != draft for p in shop.catalogue.products)
    assert set(shop.emails.templates) >= {"confirmation.txt", "confirmation.html", "merchant.txt"}
    assert set(shop.emails.translations) == {"fr", "en"}


def test_the_example_shop_round_trips_and_keeps_only_what_pricing_needs() -> None:
    shop = example()
    assert decode(encode(shop)) == shop
    product = shop.catalogue.products[0]
    assert (product.description, product.images, product.tags, product.summary) == (
        "",
        (),
        (),
        None,
    )
    assert all(item.compare_at_price is None for p in shop.catalogue.products for item in p.items)
    assert shop.config.description is None


def test_its_hash_names_what_prices_orders(mini: Path) -> None:
    shop = decode(published_path(mini).read_text(encoding="utf-8"))
    bol = shop.catalogue.products[0]
    dearer = Catalogue((Product(**{**_fields(bol), "price": bol.price + Money(100, "EUR")}),))
    changed = PublishedShop.of(shop.config, dearer, shop.pages, shop.emails)
    assert changed.hash != shop.hash
    again = PublishedShop.of(shop.config, shop.catalogue, shop.pages, shop.emails)
    assert again.hash == shop.hash


def _fields(product: Product) -> dict[str, Any]:
    return {name: getattr(product, name) for name in Product.__dataclass_fields__}


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_sku = st.from_regex(r"[A-Z0-9][A-Z0-9._-]{0,10}", fullmatch=True)
_amount = st.integers(min_value=0, max_value=10**9)
_count = st.none() | st.integers(min_value=0, max_value=10**6)


_moment = st.none() | st.datetimes(
    dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


@st.composite
def products(draw: st.DrawFn) -> Product:
    variants = draw(
        st.lists(
            st.builds(
                Variant,
                sku=_sku,
                options=st.lists(st.tuples(_text, _text), max_size=2).map(tuple),
                price=_amount.map(lambda a: Money(a, "EUR")),
                compare_at_price=st.none(),
                stock=_count,
                weight=_count,
                stock_counted=_moment,
            ),
            max_size=3,
        )
    )
    return Product(
        slug=draw(_text),
        source="shop.json",
        title=draw(_text),
        sku=draw(_sku),
        price=Money(draw(_amount), "EUR"),
        compare_at_price=None,
        category=draw(_text),
        tags=(),
        images=(),
        weight=draw(_count),
        stock=draw(_count),
        tax_class=draw(st.sampled_from(["standard", "reduced"])),
        status=Status.ACTIVE,
        featured=False,
        date=None,
        summary=None,
        description="",
        variants=tuple(variants),
        stock_counted=draw(_moment),
        supplier=draw(st.none() | _text),
        lead_time_days=draw(st.none() | st.integers(0, 365)),
    )


_day = st.none() | st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1))
_money = st.none() | _amount.map(lambda a: Money(a, "EUR"))
discounts = st.builds(
    Discount,
    code=_sku,
    label=_text,
    kind=st.sampled_from(["percent", "amount", "free_shipping"]),
    percent=st.none() | st.decimals(Decimal("0.01"), Decimal(100), places=2),
    amount=_money,
    starts=_day,
    ends=_day,
    minimum_subtotal=_money,
    categories=st.lists(_text, max_size=2).map(tuple),
    products=st.lists(_sku, max_size=2).map(tuple),
    usage_limit=st.none() | st.integers(1, 10**6),
)
suppliers = st.builds(
    Supplier,
    id=_sku,
    name=_text,
    email=st.none() | _text,
    webhook_url=st.none() | _text,
    show_prices=st.booleans(),
    secret_env=st.none() | _text,
)
_account = st.from_regex(r"[0-9]{3,8}", fullmatch=True)
_rate = st.decimals(Decimal("0"), Decimal("99.9"), places=1)
accountings = st.builds(
    AccountingSettings,
    journal=st.from_regex(r"[A-Z]{1,4}", fullmatch=True),
    journal_label=_text,
    customers=_account,
    sales=_account,
    shipping=_account,
    vat=_account,
    fees=_account,
    stripe=_account,
    sales_by_rate=st.dictionaries(_rate, _account, max_size=2),
    vat_by_rate=st.dictionaries(_rate, _account, max_size=2),
)
webhooks = st.builds(
    WebhookEndpoint,
    url=_text,
    events=st.lists(st.sampled_from(WEBHOOK_EVENTS), max_size=3, unique=True).map(tuple),
    secret_env=_text,
)
rules = st.builds(
    CartRule, name=_text, buy=st.integers(2, 9), categories=st.lists(_text, max_size=2).map(tuple)
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(products(), max_size=4),
    st.lists(discounts, max_size=3),
    st.lists(rules, max_size=2),
    st.lists(suppliers, max_size=2),
    st.none() | st.integers(0, 100),
    st.sampled_from(OVERSOLD_POLICIES),
    st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True), _text, max_size=3),
    accountings,
    st.lists(webhooks, max_size=2),
)
def test_any_catalogue_and_rules_round_trip_exactly(
    items: list[Product],
    codes: list[Discount],
    cart_rules: list[CartRule],
    makers: list[Supplier],
    low_threshold: int | None,
    oversold: str,
    carriers: dict[str, str],
    accounting: AccountingSettings,
    hooks: list[WebhookEndpoint],
) -> None:
    base = example()
    config = base.config.__class__(
        **{
            **{name: getattr(base.config, name) for name in base.config.__dataclass_fields__},
            "discounts": tuple(codes),
            "cart_rules": tuple(cart_rules),
            "suppliers": tuple(makers),
            "stock_low_threshold": low_threshold,
            "oversold": oversold,
            "carriers": carriers,
            "accounting": accounting,
            "webhooks": tuple(hooks),
        }
    )
    shop = PublishedShop.of(config, Catalogue(tuple(items)), base.pages, base.emails)
    text = encode(shop)
    assert decode(text) == shop
    assert decode(text).hash == shop.hash
    assert encode(decode(text)) == text


# -- a file the functions cannot use ------------------------------------------------------


def test_missing_other_version_or_edited_files_say_what_to_run(tmp_path: Path) -> None:
    path = tmp_path / "shop.json"
    with pytest.raises(PublishedShopError, match=r"missing: run `comptoir build` first"):
        load(path)
    text = encode(example())
    document = json.loads(text)
    path.write_text(json.dumps({**document, "version": VERSION + 1}))
    with pytest.raises(PublishedShopError, match=rf"version {VERSION + 1}.*run `comptoir build`"):
        load(path)
    path.write_text(text.replace("Thé & Terre", "Thé & Mer", 1))
    with pytest.raises(PublishedShopError, match=r"does not match its hash.*comptoir build"):
        load(path)
    path.write_text(text[: len(text) // 2])
    with pytest.raises(PublishedShopError, match=r"not valid JSON.*comptoir build"):
        load(path)


def test_the_functions_refuse_to_start_without_it(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)  # never built
    missing = r"published/shop.json is missing.*comptoir build"
    with pytest.raises(ConfigurationError, match=missing), running_stack(shop, tmp_path / "var"):
        pass


def test_a_broken_email_template_is_the_merchants_error_with_its_line(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    emails = shop / "theme" / "emails"
    emails.mkdir(parents=True)
    (emails / "confirmation.txt").write_text("Bonjour,\n{% if order.paid %}\npayé\n")
    with pytest.raises(BuildError) as caught:
        build(shop)
    assert [str(p) for p in caught.value.problems] == [
        "theme/emails/confirmation.txt:2: template error: Unexpected end of template. "
        "Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. "
        "The innermost block that needs to be closed is 'if'."
    ]
    assert not published_path(shop).exists()


# -- what the CDN gets -----------------------------------------------------------------------


def test_output_holds_no_discount_code(mini: Path) -> None:
    published = published_path(mini).read_bytes()
    assert all(code.encode() in published for code in CODES)
    leaks = [
        (str(path.relative_to(mini)), code)
        for path in (mini / "output").rglob("*")
        if path.is_file()
        for code in CODES
        if code.lower().encode() in path.read_bytes().lower()
    ]
    assert leaks == []


def test_catalog_json_is_the_public_subset(mini: Path) -> None:
    catalog = json.loads((mini / "output" / "catalog.json").read_text(encoding="utf-8"))
    assert set(catalog) == {"hash", "version", "currency", "locale", "tax_classes", "products"}
    product_keys = {"sku", "slug", "title", "url", "category", "tax_class", "items"}
    item_keys = {
        "sku",
        "title",
        "options",
        "price",
        "price_display",
        "compare_at_price",
        "stock",
        "weight",
    }
    assert all(set(p) == product_keys for p in catalog["products"])
    assert all(set(i) == item_keys for p in catalog["products"] for i in p["items"])
    listed = {p["slug"] for p in catalog["products"]}
    assert "brouillon" not in listed and "bol" in listed
    text = json.dumps(catalog)
    shop = decode(published_path(mini).read_text(encoding="utf-8"))
    assert shop.config.email.orders_to not in text


# -- the functions read nothing else ------------------------------------------------------------


class OpenedFiles:
    """Every file this process opens while ``watching()`` (a Python audit hook)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.active = False
        self.lock = threading.Lock()
        sys.addaudithook(self.hook)

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.active and event == "open" and isinstance(args[0], str | Path):
            with self.lock:
                self.paths.append(str(Path(args[0]).resolve()))

    @contextmanager
    def watching(self) -> Iterator[list[str]]:
        self.paths.clear()
        self.active = True
        try:
            yield self.paths
        finally:
            self.active = False


OPENED = OpenedFiles()


def test_the_functions_never_open_content_or_a_theme(tmp_path: Path) -> None:
    """A whole purchase (quote, checkout, payment, webhook, both e-mails) reads no file of
    the shop's content/ or theme/, nor of the theme comptoir ships."""
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    build(shop)
    shutil.rmtree(shop / "content")
    forbidden = [str(p.resolve()) for p in (shop / "content", shop / "theme", ROOT / "theme")]
    forbidden.append(str((ROOT / "content").resolve()))
    with running_stack(shop, tmp_path / "var") as (origin, stack), OPENED.watching() as opened:
        body = {"items": [{"sku": "BOL-BLEU", "quantity": 1}], "country": "FR"}
        headers = {"origin": origin}
        assert httpx.post(origin + "/api/quote", json=body, headers=headers).status_code == 200
        started = httpx.post(origin + "/api/checkout", json=body, headers=headers, timeout=30)
        assert started.status_code == 201, started.text
        assert pay(started.json()["url"]).status_code == 303
        session = started.json()["session_id"]
        wait_for(lambda: httpx.get(f"{origin}/api/orders/{session}").status_code == 200)
        mails = wait_for(lambda: two_mails(stack.settings.outbox_dir))
    assert opened, "the audit hook saw no file at all"
    reads = sorted({p for p in opened if any(p.startswith(f + "/") for f in forbidden)})
    assert reads == []
    confirmation = next(m for m in mails if "camille@example.fr" in str(m["To"]))
    assert "/retractation/" in confirmation.get_body(("plain",)).get_content()


def read_mails(outbox: Path) -> list[Any]:
    return [
        message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted(outbox.glob("*.eml"))
    ]


def two_mails(outbox: Path) -> list[Any] | None:
    mails = read_mails(outbox)
    return mails if len(mails) == 2 else None


def test_a_shops_own_withdrawal_slug_and_email_template_reach_the_confirmation(
    tmp_path: Path,
) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    page = shop / "content" / "pages" / "retractation.md"
    page.write_text(
        page.read_text().replace("role: withdrawal\n", "role: withdrawal\nslug: droit\n")
    )
    emails = shop / "theme" / "emails"
    emails.mkdir(parents=True)
    (emails / "confirmation.txt").write_text(
        "Merci {{ order.customer_name }} !\n"
        "{% include '_summary.txt' %}\n"
        "{{ _('Your right of withdrawal') }} : {{ shop.withdrawal_url }}\n"
    )
    build(shop)
    with running_stack(shop, tmp_path / "var") as (origin, stack):
        body = {"items": [{"sku": "BOL-BLEU", "quantity": 1}], "country": "FR"}
        started = httpx.post(origin + "/api/checkout", json=body, headers={"origin": origin})
        assert started.status_code == 201, started.text
        assert pay(started.json()["url"]).status_code == 303
        mails = wait_for(lambda: two_mails(stack.settings.outbox_dir))
    confirmation = next(m for m in mails if "camille@example.fr" in str(m["To"]))
    text = confirmation.get_body(("plain",)).get_content().replace("\r\n", "\n")
    withdrawal = "https://mini.example/droit/"
    assert text.startswith("Merci Camille Martin !\n")
    assert f"Votre droit de rétractation : {withdrawal}\n" in text
    html = confirmation.get_body(("html",)).get_content()
    assert f'href="{withdrawal}"' in html and "/retractation/" not in html
