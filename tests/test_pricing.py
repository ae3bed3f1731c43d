"""Quoting carts: discounts, cart rules, shipping, VAT, and exact payment lines."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shop.catalogue import Catalogue
from shop.content import ShopContent, load_content
from shop.money import Money
from shop.pricing import CartLine, QuoteError, allocate, payment_lines, quote_cart

MINI = Path(__file__).parent / "fixtures" / "mini"
TODAY = dt.date(2026, 11, 23)

EXTRA = """
discounts:
  - {code: BIENVENUE10, kind: percent, value: "10", label: Bienvenue}
  - {code: CINQ, kind: amount, value: "5", minimum_subtotal: "20"}
  - {code: PORTOFFERT, kind: free_shipping}
  - {code: THE15, kind: percent, value: "15", categories: [Thés]}
  - {code: VIEUX, kind: percent, value: "50", ends: 2026-01-31}
  - {code: FUTUR, kind: percent, value: "50", starts: 2027-01-01}
  - {code: UNEFOIS, kind: amount, value: "3", usage_limit: 1}
  - {code: OFFERT, kind: amount, value: "10"}
cart_rules:
  - {name: "3 thés, le moins cher offert", kind: cheapest_free, buy: 3, categories: [Thés]}
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> ShopContent:
    root = tmp_path_factory.mktemp("pricing") / "shop"
    shutil.copytree(MINI, root)
    config = root / "content" / "shop.yaml"
    config.write_text(config.read_text() + EXTRA)
    vase = root / "content" / "products" / "vase.md"
    vase.write_text(vase.read_text().replace("price: 40\n", "price: 40\nweight: 1500\n"))
    content = load_content(root)
    assert not content.problems, list(content.problems)
    return content


def quote(shop: ShopContent, cart: list[tuple[str, int]], **kwargs: object):  # type: ignore[no-untyped-def]
    assert shop.config is not None
    return quote_cart(
        shop.catalogue, shop.config, [CartLine(s, q) for s, q in cart], today=TODAY, **kwargs
    )  # type: ignore[arg-type]


def eur(cents: int) -> Money:
    return Money(cents, "EUR")


def test_plain_cart_with_shipping_and_vat_by_rate(shop: ShopContent) -> None:
    q = quote(shop, [("BOL-BLEU", 1), ("THE-SENCHA-50", 2)], country="FR")
    assert q.subtotal == eur(2490 + 1900)
    assert q.shipping is not None and q.shipping.method_id == "colis"
    assert q.shipping.price == eur(500)  # 400 g + 2 × 60 g: first band
    assert q.total == eur(4390 + 500)
    vat = {line.rate: (line.gross, line.vat) for line in q.vat}
    # Shipping (5,00 €) follows the goods' rates pro rata: 2490/4390 of it is taxed at
    # 20 % (2,84 €, the largest remainder), 1900/4390 at 5,5 % (2,16 €).
    assert vat[Decimal("20")] == (eur(2490 + 284), eur(462))  # 2774 × 20/120 = 462.33
    assert vat[Decimal("5.5")] == (eur(1900 + 216), eur(110))  # 2116 × 5.5/105.5 = 110.31
    assert [o.method_id for o in q.shipping_options] == ["pickup", "colis"]


def test_free_shipping_over_threshold_and_pickup(shop: ShopContent) -> None:
    q = quote(shop, [("BOL-BLEU", 3)], country="FR")
    assert q.goods_total == eur(7470) and q.shipping is not None
    assert q.shipping.price == eur(0)
    picked = quote(shop, [("BOL-BLEU", 1)], country="FR", shipping_method="pickup")
    assert picked.shipping is not None and picked.shipping.pickup and picked.total == eur(2490)


def test_weight_band_and_too_heavy(shop: ShopContent) -> None:
    q = quote(shop, [("VASE", 1)], country="FR", shipping_method="colis")
    assert q.shipping is not None and q.shipping.price == eur(950)  # 1500 g: second band
    heavy = quote(shop, [("BOL-BLEU", 13)], country="FR")  # 5200 g: only pickup remains
    assert [o.method_id for o in heavy.shipping_options] == ["pickup"]


def test_percent_code_spreads_exactly(shop: ShopContent) -> None:
    q = quote(shop, [("BOL-BLEU", 1), ("VASE", 1)], country="FR", promo_code=" bienvenue10 ")
    assert q.promo_code == "BIENVENUE10" and q.promo_rejection is None
    assert q.discount_total == eur(649)  # 10 % of 64.90, rounded half up
    assert sum(line.discount.amount for line in q.lines) == 649
    assert q.goods_total == eur(6490 - 649)


def test_fixed_amount_code_with_minimum(shop: ShopContent) -> None:
    small = quote(shop, [("THE-SENCHA-50", 1)], promo_code="CINQ")
    assert small.promo_code is None
    assert small.promo_rejection == "minimum_subtotal"
    big = quote(shop, [("BOL-BLEU", 1)], promo_code="CINQ")
    assert big.discount_total == eur(500) and big.total == eur(1990)


def test_category_limited_code(shop: ShopContent) -> None:
    q = quote(shop, [("BOL-BLEU", 1), ("THE-SENCHA-50", 2)], promo_code="THE15")
    bol, the = q.lines
    assert bol.discount == eur(0) and the.discount == eur(285)  # 15 % of 19.00


def test_free_shipping_code(shop: ShopContent) -> None:
    q = quote(shop, [("THE-SENCHA-50", 1)], country="FR", promo_code="PORTOFFERT")
    assert q.shipping is not None and q.shipping.price == eur(0) and q.total == eur(950)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("VIEUX", "expired"),
        ("FUTUR", "not_yet_valid"),
        ("NOPE", "unknown"),
    ],
)
def test_code_rejections(shop: ShopContent, code: str, reason: str) -> None:
    q = quote(shop, [("BOL-BLEU", 1)], promo_code=code)
    assert q.promo_code is None and q.discount_total == eur(0)
    assert q.promo_rejection == reason


def test_usage_limit(shop: ShopContent) -> None:
    assert quote(shop, [("BOL-BLEU", 1)], promo_code="UNEFOIS").discount_total == eur(300)
    used = quote(shop, [("BOL-BLEU", 1)], promo_code="UNEFOIS", code_uses={"UNEFOIS": 1})
    assert used.discount_total == eur(0) and used.promo_rejection == "used_up"


def test_buy_three_cheapest_free(shop: ShopContent) -> None:
    q = quote(shop, [("THE-SENCHA-50", 2), ("THE-SENCHA-100", 1), ("BOL-BLEU", 1)])
    assert [d.code for d in q.discounts] == [None]
    assert q.discount_total == eur(950)  # the cheapest of the three teas
    assert q.lines[0].discount == eur(950)


@pytest.mark.parametrize(
    ("cart", "code"),
    [
        ([("NOPE", 1)], "unknown_sku"),
        ([("DRAFT-1", 1)], "unknown_sku"),
        ([("BOL-BLEU", 0)], "invalid_quantity"),
        ([("BOL-BLEU", -1)], "invalid_quantity"),
        ([("BOL-BLEU", 100)], "invalid_quantity"),
        ([("BOL-BLEU", 60), ("BOL-BLEU", 60)], "invalid_quantity"),
        ([], "empty_cart"),
    ],
)
def test_unsellable_carts(shop: ShopContent, cart: list[tuple[str, int]], code: str) -> None:
    with pytest.raises(QuoteError) as error:
        quote(shop, cart)
    assert error.value.code == code


def test_country_not_served_and_unknown_method(shop: ShopContent) -> None:
    with pytest.raises(QuoteError, match="does not deliver"):
        quote(shop, [("BOL-BLEU", 1)], country="JP")
    with pytest.raises(QuoteError) as error:
        quote(shop, [("BOL-BLEU", 1)], country="FR", shipping_method="drone")
    assert error.value.code == "unknown_shipping_method"


def test_payment_lines_split_indivisible_totals(shop: ShopContent) -> None:
    q = quote(shop, [("THE-SENCHA-50", 3)], promo_code="BIENVENUE10")
    assert q.lines[0].total == eur(1710)  # 28.50 − 9.50 (3 teas: one free) − 10 %
    lines = payment_lines(q)
    assert [(p.unit_amount, p.quantity) for p in lines] == [(570, 3)]
    q = quote(shop, [("BOL-BLEU", 3)], promo_code="CINQ")  # 74.70 − 5 = 69.70
    assert sorted((p.unit_amount, p.quantity) for p in payment_lines(q)) == [(2323, 2), (2324, 1)]


@given(st.integers(0, 10**6), st.lists(st.integers(0, 10**5), min_size=1, max_size=20))
def test_allocate_sums_exactly_and_never_exceeds(amount: int, weights: list[int]) -> None:
    amount = min(amount, sum(weights))
    parts = allocate(amount, weights)
    assert sum(parts) == (amount if sum(weights) else 0)
    assert all(0 <= p <= w for p, w in zip(parts, weights, strict=True))


SKUS = ["BOL-BLEU", "THE-SENCHA-50", "THE-SENCHA-100", "TASSE", "VASE"]
CODES = [None, "BIENVENUE10", "CINQ", "PORTOFFERT", "THE15", "VIEUX", "UNEFOIS", "OFFERT", "nope"]


@settings(max_examples=300, deadline=None)
@given(
    cart=st.lists(
        st.tuples(st.sampled_from(SKUS), st.integers(1, 20)),
        min_size=1,
        max_size=5,
        unique_by=lambda line: line[0],
    ),
    code=st.sampled_from(CODES),
    country=st.sampled_from([None, "FR"]),
    method=st.sampled_from([None, "pickup"]),
)
def test_quote_invariants(
    shop: ShopContent,
    cart: list[tuple[str, int]],
    code: str | None,
    country: str | None,
    method: str | None,
) -> None:
    q = quote(
        shop, cart, promo_code=code, country=country, shipping_method=method if country else None
    )
    shipping = q.shipping.price.amount if q.shipping else 0
    charged = sum(p.unit_amount * p.quantity for p in payment_lines(q)) + shipping
    assert charged == q.total.amount  # what Stripe will charge, cent for cent
    assert all(p.unit_amount >= 0 and p.quantity >= 1 for p in payment_lines(q))
    assert q.total.amount >= 0
    for line in q.lines:
        assert 0 <= line.discount.amount <= line.subtotal.amount
    assert q.subtotal - q.discount_total == q.goods_total
    assert sum(v.gross.amount for v in q.vat) == q.total.amount
    assert all(0 <= v.vat.amount <= v.gross.amount for v in q.vat)
    _shipping_follows_the_goods(q)


def _shipping_follows_the_goods(q) -> None:  # type: ignore[no-untyped-def]
    """Each rate's gross is its goods plus its share of shipping, shares within a cent
    of the exact pro rata and adding up to the shipping price."""
    goods: dict[Decimal, int] = {}
    for line in q.lines:
        goods[line.tax_rate] = goods.get(line.tax_rate, 0) + line.total.amount
    shipping = q.shipping.price.amount if q.shipping else 0
    shares = {v.rate: v.gross.amount - goods.get(v.rate, 0) for v in q.vat}
    assert sum(shares.values()) == shipping
    base = sum(goods.values())
    for rate, share in shares.items():
        if base:
            assert abs(share * base - shipping * goods.get(rate, 0)) < base  # |error| < 1 cent
        else:
            assert rate == Decimal("20") or share == 0  # nothing to follow: standard rate


def test_shipping_of_a_reduced_rate_basket_is_taxed_at_the_reduced_rate(shop: ShopContent) -> None:
    q = quote(shop, [("THE-SENCHA-50", 1)], country="FR")
    assert q.shipping is not None and q.shipping.price.amount > 0
    [line] = q.vat
    assert line.rate == Decimal("5.5") and line.gross == q.total


def test_shipping_of_a_basket_made_free_is_taxed_at_the_standard_rate(shop: ShopContent) -> None:
    q = quote(shop, [("THE-SENCHA-50", 1)], country="FR", promo_code="OFFERT")
    assert q.goods_total.amount == 0 and q.shipping is not None
    [line] = [v for v in q.vat if v.gross.amount]
    assert (line.rate, line.gross) == (Decimal("20"), q.shipping.price)


def test_threads_looking_up_a_new_catalogue_all_find_every_item(shop: ShopContent) -> None:
    skus = [item.sku for product in shop.catalogue.public for item in product.items]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show
    try:
        _look_up_together(shop, skus)
    finally:
        sys.setswitchinterval(interval)


def _look_up_together(shop: ShopContent, skus: list[str]) -> None:
    for _ in range(50):
        fresh = Catalogue(shop.catalogue.products)  # its SKU index is made on first lookup
        start = threading.Barrier(8)

        def look_up(catalogue: Catalogue = fresh, start: threading.Barrier = start) -> list[bool]:
            start.wait()
            return [catalogue.item(sku) is not None for sku in skus]

        with ThreadPoolExecutor(8) as pool:
            answers = [f.result() for f in [pool.submit(look_up) for _ in range(8)]]
        assert all(all(found) for found in answers)
