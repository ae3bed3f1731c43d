"""The checkout as a shopper's browser lives it: cart page, promo code, totals, Stripe's
page (the offline emulator), the order page, the confirmation e-mail and the stock.

Everything runs for real on 127.0.0.1, as in ``tests/test_checkout_flow.py``: the static
site and the functions under uvicorn, the official ``stripe`` library against the emulator
and its signed webhooks, the SQLite store and the ``.eml`` outbox. Debian's chromium drives
the pages (a missing browser fails, never skips).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from comptoir.local import LocalStack
from shop.money import Money
from tests.apishop import built_shop, running_stack
from tests.webtools import collect_requests, other_origins, run_axe, run_vnu

CARD_OK = "4242 4242 4242 4242"
CARD_DECLINED = "4000 0000 0000 0002"
SHOTS = Path(os.environ.get("COMPTOIR_SCREENSHOTS", "/tmp/comptoir-screenshots"))
CART_KEY = "comptoir.cart.v1"


@dataclass
class Shop:
    base: str
    stack: LocalStack
    root: Path

    def available(self, *skus: str) -> dict[str, int | None]:
        return self.stack.store.available(list(skus), dt.datetime.now(dt.UTC))

    def mails(self) -> list[Any]:
        outbox = self.stack.settings.outbox_dir
        if not outbox.exists():
            return []
        return [
            message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(outbox.glob("*.eml"))
        ]

    def display(self, amount: int) -> str:
        return Money(amount, "EUR").format(self.stack.shops.current().config.locale)


@pytest.fixture(scope="module")
def shop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini shop with the promo code BIENVENUE10, built once for the module."""
    return built_shop(tmp_path_factory.mktemp("browser-checkout"))


@pytest.fixture
def shop(shop_root: Path, tmp_path: Path) -> Iterator[Shop]:
    """The whole local stack on one origin, with a fresh store and outbox for each test."""
    with running_stack(shop_root, tmp_path) as (origin, stack):
        yield Shop(origin, stack, shop_root)


def wait_for(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def no_violations(page: Page) -> list[Any]:
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in run_axe(page)]


def text(locator: Any) -> str:
    """Visible text with no-break and narrow no-break spaces as plain spaces."""
    return " ".join(str(locator.inner_text()).replace("\u202f", " ").replace("\xa0", " ").split())


def plain(value: str) -> str:
    return " ".join(value.replace("\u202f", " ").replace("\xa0", " ").split())


def open_cart(page: Page, base: str, *lines: tuple[str, int]) -> None:
    """Put lines in the cart through the address (as the product form does without JavaScript)."""
    for sku, quantity in lines:
        page.goto(f"{base}/cart/?sku={sku}&quantity={quantity}")
    page.wait_for_selector("[data-total]:not(:empty)")


def stored_cart(page: Page) -> list[tuple[str, int]]:
    data = page.evaluate(f"JSON.parse(localStorage.getItem('{CART_KEY}'))")
    return [(line["sku"], line["quantity"]) for line in data["lines"]]


def fill_payment_page(page: Page, card: str) -> None:
    """The emulator's hosted page, filled in as a shopper would."""
    page.fill("[name=email]", "camille@example.fr")
    page.fill("[name=name]", "Camille Martin")
    page.select_option("[name=country]", "FR")
    page.fill("[name=line1]", "3 rue des Tisserands")
    page.fill("[name=postal_code]", "69001")
    page.fill("[name=city]", "Lyon")
    page.check("[name=payment_method][value=card]")
    page.fill("[name=card_number]", card)
    page.fill("[name=card_expiry]", "12/34")
    page.fill("[name=card_cvc]", "123")
    page.check("[name=terms]")
    page.locator("form button[type=submit]").click()


def go_to_payment(page: Page) -> str:
    """Press Pay on the cart page; returns the checkout session's id."""
    pay = page.locator("[data-pay]")
    expect(pay).to_be_enabled()
    pay.click()
    page.wait_for_url("**/_stripe/pay/cs_test_*")
    return page.url.rsplit("/", 1)[-1]


def test_pay_by_card_with_a_promo_code(browser: Browser, shop: Shop) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        requests = collect_requests(page)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))

        # A variant and a simple product, added on their product pages.
        page.goto(shop.base + "/products/the/")
        page.check("input[name=sku][value=THE-SENCHA-50]")
        page.click("form[data-add-to-cart] [type=submit]")
        expect(page.locator("[data-cart-count]")).to_have_text("1")
        page.goto(shop.base + "/products/bol/")
        page.click("form[data-add-to-cart] [type=submit]")
        expect(page.locator("[data-cart-count]")).to_have_text("2")

        page.goto(shop.base + "/cart/")
        page.wait_for_selector("[data-total]:not(:empty)")
        page.select_option("#checkout-country", "FR")
        radios = page.locator("[data-method-list] input[type=radio]")
        expect(radios).to_have_count(2)  # Colis, and Retrait (a pickup, labelled as such)
        expect(
            page.locator("[data-method-list] .choice")
            .filter(has_text="Retrait")
            .locator(".choice-note")
        ).to_be_visible()
        expect(page.locator("[data-totals-lines] .totals-discount")).to_have_count(0)

        page.fill("#checkout-promo", "bienvenue10")
        page.click("[data-apply]")
        discount = page.locator("[data-totals-lines] .totals-discount")
        expect(discount).to_contain_text("BIENVENUE10")
        expect(page.locator("[data-promo-message]")).to_contain_text("BIENVENUE10")
        quote = httpx.post(
            shop.base + "/api/quote",
            json={
                "items": [
                    {"sku": "THE-SENCHA-50", "quantity": 1},
                    {"sku": "BOL-BLEU", "quantity": 1},
                ],
                "country": "FR",
                "promo_code": "BIENVENUE10",
            },
        ).json()
        assert plain(discount.inner_text()).endswith(
            plain(quote["discounts"][0]["amount"]["display"])
        )
        total = text(page.locator("[data-total]"))
        assert total == plain(quote["total"]["display"])
        vat = text(page.locator("[data-totals-vat]"))
        assert "dont TVA 5,5 %" in vat and "dont TVA 20 %" in vat
        expect(page.locator("[data-pay]")).to_contain_text(quote["total"]["display"])
        # line prices come from the server
        expect(page.locator("[data-cart] li[data-sku=BOL-BLEU] [data-price]")).to_contain_text(
            quote["lines"][1]["unit_price"]["display"]
        )

        assert no_violations(page) == []
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "the cart scrolls sideways at 390 px"
        page.screenshot(path=str(SHOTS / "checkout-cart-390.png"), full_page=True)

        session_id = go_to_payment(page)
        emulator = shop.stack.emulator
        assert emulator is not None
        amount_total = emulator.retrieve_checkout_session(session_id, {})["amount_total"]
        assert isinstance(amount_total, int)
        assert plain(shop.display(amount_total)) == total  # the cart showed what Stripe charges
        fill_payment_page(page, CARD_OK)

        page.wait_for_url(f"**/order/?session_id={session_id}")
        expect(page.locator("[data-order]")).to_be_visible(timeout=20_000)
        expect(page.locator("[data-order-message]")).to_have_attribute("data-state", "paid")
        order = httpx.get(f"{shop.base}/api/orders/{session_id}").json()
        expect(page.locator("[data-order-number]")).to_have_text(order["number"])
        assert text(page.locator("[data-order-total]")) == total
        assert order["total"]["amount"] == amount_total
        expect(page.locator("[data-order-lines] tr")).to_have_count(2)
        expect(page.locator("[data-order-email]")).to_contain_text("c•••@example.fr")
        expect(page.locator("[data-order-delivery]")).to_have_text("Colis")

        # the cart is emptied, its badge too
        expect(page.locator("[data-cart-count]")).to_be_hidden()
        assert stored_cart(page) == []
        assert no_violations(page) == []
        page.screenshot(path=str(SHOTS / "checkout-order-390.png"), full_page=True)

        def confirmation() -> Any:
            return next(
                (m for m in shop.mails() if m["To"].addresses[0].addr_spec == "camille@example.fr"),
                None,
            )

        mail = wait_for(confirmation)
        body = mail.get_body(preferencelist=("plain",)).get_content()
        assert order["total"]["display"] in body
        assert shop.available("BOL-BLEU", "THE-SENCHA-50") == {"BOL-BLEU": 2, "THE-SENCHA-50": 9}

        # Back in the shop later: the badge stays empty, and a new cart is not emptied again.
        page.goto(shop.base + "/")
        expect(page.locator("[data-cart-count]")).to_be_hidden()
        page.goto(shop.base + "/cart/?sku=VASE&quantity=1")
        page.goto(f"{shop.base}/order/?session_id={session_id}")
        expect(page.locator("[data-order]")).to_be_visible()
        assert stored_cart(page) == [("VASE", 1)]

        assert other_origins(requests, shop.base) == []
        assert errors == []
    finally:
        context.close()


def test_sepa_debit_is_pending_and_empties_the_cart(page: Page, shop: Shop) -> None:
    open_cart(page, shop.base, ("THE-SENCHA-50", 2))
    session_id = go_to_payment(page)
    page.fill("[name=email]", "camille@example.fr")
    page.fill("[name=name]", "Camille Martin")
    page.fill("[name=line1]", "3 rue des Tisserands")
    page.fill("[name=postal_code]", "69001")
    page.fill("[name=city]", "Lyon")
    page.check("[name=payment_method][value=sepa_debit]")
    page.fill("[name=iban]", "DE89370400440532013000")
    page.check("[name=terms]")
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"**/order/?session_id={session_id}")
    expect(page.locator("[data-order-message]")).to_have_attribute(
        "data-state", "pending", timeout=20_000
    )
    expect(page.locator("[data-order-status]")).to_have_text("En attente de votre banque")
    assert stored_cart(page) == []
    expect(page.locator("[data-cart-count]")).to_be_hidden()


def test_declined_card_makes_no_order(page: Page, shop: Shop) -> None:
    open_cart(page, shop.base, ("BOL-BLEU", 1))
    session_id = go_to_payment(page)
    fill_payment_page(page, CARD_DECLINED)
    expect(page.locator("[role=alert]")).to_contain_text("declined")
    assert "/_stripe/" in page.url
    assert shop.stack.store.list_orders() == []
    assert httpx.get(f"{shop.base}/api/orders/{session_id}").status_code == 202
    # the shopper leaves: the cart is still there
    page.goto(shop.base + "/cart/")
    assert stored_cart(page) == [("BOL-BLEU", 1)]


def test_cancel_on_the_payment_page_keeps_the_cart(page: Page, shop: Shop) -> None:
    open_cart(page, shop.base, ("BOL-BLEU", 3), ("THE-SENCHA-50", 1))  # the last 3 bowls
    go_to_payment(page)
    assert shop.available("BOL-BLEU") == {"BOL-BLEU": 0}  # held for the payment page
    page.get_by_role("link", name="Cancel and return to the shop").click()
    page.wait_for_url(shop.base + "/cart/*")
    notice = page.locator("[data-checkout-cancelled]")
    expect(notice).to_be_visible()
    expect(notice).to_have_text("Paiement annulé\u00a0: votre panier vous attend toujours.")
    expect(page.locator("[data-cart] li")).to_have_count(2)
    assert stored_cart(page) == [("BOL-BLEU", 3), ("THE-SENCHA-50", 1)]
    assert "cancelled" not in page.url  # a reload does not say it again
    expect(page.locator("[data-total]")).not_to_be_empty()
    # Coming back ended that checkout: its hold no longer blocks this shopper.
    expect(page.locator("[data-pay]")).to_be_enabled()
    assert shop.available("BOL-BLEU") == {"BOL-BLEU": 3}


def test_sold_out_line_blocks_payment(page: Page, shop: Shop) -> None:
    open_cart(page, shop.base, ("BOL-BLEU", 1), ("TASSE", 1))
    line = page.locator("[data-cart] li[data-sku=TASSE]")
    expect(line.locator("[data-line-problem]")).to_have_text("Épuisé — retirez-le pour payer")
    expect(page.locator("[data-pay]")).to_be_disabled()
    expect(page.locator("[data-cart] li[data-sku=BOL-BLEU] [data-line-problem]")).to_be_hidden()
    assert no_violations(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "checkout-soldout-1280.png"), full_page=True)
    line.locator("[data-remove]").click()
    expect(page.locator("[data-pay]")).to_be_enabled()


def test_stock_gone_meanwhile_names_the_product(page: Page, shop: Shop) -> None:
    open_cart(page, shop.base, ("BOL-BLEU", 3))
    expect(page.locator("[data-pay]")).to_be_enabled()
    # Another shopper takes one bowl while this one reads the totals.
    other = httpx.post(
        shop.base + "/api/checkout",
        json={"items": [{"sku": "BOL-BLEU", "quantity": 1}], "country": "FR"},
    )
    assert other.status_code == 201
    page.locator("[data-pay]").click()
    error = page.locator("[data-checkout-error]")
    expect(error).to_contain_text("Plus que 2 en stock pour Bol bleu")
    expect(page.locator("[data-cart] li[data-sku=BOL-BLEU] [data-line-problem]")).to_be_visible()
    expect(page.locator("[data-pay]")).to_be_disabled()
    assert page.url.startswith(shop.base + "/cart/")
    assert no_violations(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "checkout-error-1280.png"), full_page=True)
    # Two bowls can be paid.
    page.locator("[data-cart] li[data-sku=BOL-BLEU] [data-step='-1']").click()
    expect(page.locator("[data-pay]")).to_be_enabled()


def test_product_no_longer_sold_can_be_removed(page: Page, shop: Shop) -> None:
    page.goto(shop.base + "/cart/")
    lines = [
        {
            "sku": "BOL-BLEU",
            "quantity": 1,
            "title": "Bol bleu",
            "price": "24,90 €",
            "url": "/products/bol/",
            "image": "",
        },
        {
            "sku": "ANCIEN-1",
            "quantity": 1,
            "title": "Ancien vase",
            "price": "9,00 €",
            "url": "/products/ancien/",
            "image": "",
        },
    ]
    page.evaluate(f"localStorage.setItem('{CART_KEY}', {json.dumps(json.dumps({'lines': lines}))})")
    page.reload()
    error = page.locator("[data-checkout-error]")
    expect(error).to_contain_text("Nous ne vendons plus Ancien vase.")
    expect(page.locator("[data-pay]")).to_be_disabled()
    error.get_by_role("button", name="Ancien vase").click()
    expect(page.locator("[data-cart] li")).to_have_count(1)
    expect(page.locator("[data-total]")).not_to_be_empty()
    expect(page.locator("[data-pay]")).to_be_enabled()
    assert stored_cart(page) == [("BOL-BLEU", 1)]


def test_payment_service_down_says_try_again(page: Page, shop: Shop) -> None:
    open_cart(page, shop.base, ("VASE", 1))
    page.route("**/api/checkout", lambda route: route.abort())
    page.locator("[data-pay]").click()
    expect(page.locator("[data-checkout-error]")).to_contain_text(
        "Le service de paiement est indisponible"
    )
    expect(page.locator("[data-pay]")).to_be_enabled()  # the shopper can try again


def test_order_page_waits_then_says_unknown_orders(page: Page, shop: Shop) -> None:
    page.goto(shop.base + "/order/?session_id=cs_test_doesnotexist0000")
    expect(page.locator("[data-order-message]")).to_have_attribute("data-state", "not_found")
    expect(page.locator("[data-order]")).to_be_hidden()
    # Paid, but the webhook has not landed yet: the page says it is confirming.
    open_cart(page, shop.base, ("VASE", 1))
    session_id = go_to_payment(page)
    page.goto(f"{shop.base}/order/?session_id={session_id}")
    expect(page.locator("[data-order-message]")).to_have_attribute("data-state", "waiting")
    assert stored_cart(page) == [("VASE", 1)]  # nothing paid: the cart stays


def test_without_javascript_the_cart_keeps_its_notice(browser: Browser, shop: Shop) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(shop.base + "/cart/")
        expect(page.locator("[data-checkout]")).to_be_hidden()
        assert "JavaScript" in page.content()
    finally:
        context.close()


def test_checkout_scripts_load_only_where_needed(shop_root: Path) -> None:
    output = shop_root / "output"
    for page in output.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert ("js/checkout." in html) == (page == output / "cart" / "index.html"), page
        assert ("js/order." in html) == (page == output / "order" / "index.html"), page


def test_cart_and_order_pages_are_valid_html(shop_root: Path) -> None:
    output = shop_root / "output"
    assert run_vnu([output / "cart" / "index.html", output / "order" / "index.html"]) == []


def test_order_page_shows_a_receipt(browser: Browser, shop: Shop) -> None:
    """Lines, subtotal, discount, delivery, total and the VAT included, as the server wrote
    them, readable at 390 px and with no accessibility violation."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        open_cart(page, shop.base, ("BOL-BLEU", 1), ("THE-SENCHA-50", 1))
        page.fill("#checkout-promo", "BIENVENUE10")
        page.click("[data-apply]")
        expect(page.locator("[data-totals-lines] .totals-discount")).to_be_visible()
        session_id = go_to_payment(page)
        fill_payment_page(page, CARD_OK)
        page.wait_for_url(f"**/order/?session_id={session_id}")
        expect(page.locator("[data-order]")).to_be_visible(timeout=20_000)
        order = httpx.get(f"{shop.base}/api/orders/{session_id}").json()

        table = page.get_by_role("table", name="Le détail de votre commande (prix TTC)")
        expect(table).to_be_visible()
        lines = page.locator("[data-order-lines] tr")
        expect(lines).to_have_count(2)
        assert text(lines.nth(0)) == plain(
            f"1 × Bol bleu {order['lines'][0]['subtotal']['display']}"
        )
        sums = page.locator("[data-order-sums] tr")
        assert text(sums.nth(0)) == plain(f"Sous-total {order['subtotal']['display']}")
        discount = page.locator("[data-order-sums] .totals-discount")
        assert text(discount) == plain(f"BIENVENUE10 −{order['discounts'][0]['amount']['display']}")
        delivery = page.locator("[data-order-sums] .order-shipping")
        assert text(delivery) == plain(f"Livraison : Colis {order['shipping']['price']['display']}")
        assert text(page.locator("[data-order-total]")) == plain(order["total"]["display"])
        vat = page.locator("[data-order-vat] tr")
        expect(vat).to_have_count(2)
        shown = [text(vat.nth(i)) for i in range(2)]
        expected = [
            plain(f"dont TVA {v['rate_display']} {v['vat']['display']}") for v in order["vat"]
        ]
        assert sorted(shown) == sorted(expected)
        assert any(line.startswith("dont TVA 5,5 % ") for line in shown)

        assert no_violations(page) == []
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, "the order page scrolls sideways at 390 px"
        page.screenshot(path=str(SHOTS / "order-breakdown-390.png"), full_page=True)
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 800)])
def test_order_page_shows_the_delivery_address(
    browser: Browser, shop: Shop, width: int, height: int
) -> None:
    """Where the parcel goes, as given on the payment page, for the shopper to check; the
    page gives its address (which holds the key to the order) to no one, and asks nothing
    of another site."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        referers: list[tuple[str, str]] = []  # (URL, Referer) of every request
        page.on("request", lambda r: referers.append((r.url, r.headers.get("referer", ""))))
        requests = collect_requests(page)
        open_cart(page, shop.base, ("BOL-BLEU", 1))
        go_to_payment(page)
        fill_payment_page(page, CARD_OK)
        page.wait_for_url("**/order/?session_id=*")
        referers.clear()
        page.reload()
        expect(page.locator("[data-order]")).to_be_visible(timeout=20_000)
        expect(page.locator("[data-order-address-label]")).to_have_text("Adresse de livraison")
        expect(page.locator("[data-order-address] span")).to_have_text(
            ["Camille Martin", "3 rue des Tisserands", "69001 Lyon", "France"]
        )
        expect(page.locator("[data-order-address-note]")).to_be_hidden()
        # The bowl has no lead time: no dispatch date is promised, none is shown.
        expect(page.locator("[data-order-dispatch-label]")).to_be_hidden()
        assert no_violations(page) == []
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the order page scrolls sideways at {width} px"
        page.screenshot(path=str(SHOTS / f"order-address-{width}.png"), full_page=True)
        # Leaving for another page (here, the shop's own) sends no Referer either.
        page.locator(".order-links a[href='/']").click()
        page.wait_for_url(shop.base + "/")
        assert (shop.base + "/", "") in referers
        assert [(url, ref) for url, ref in referers if "session_id" in ref] == []
        assert other_origins(requests, shop.base) == []
    finally:
        context.close()


def test_order_page_says_a_pickup_is_collected_in_store(page: Page, shop: Shop) -> None:
    response = httpx.post(
        shop.base + "/api/checkout",
        json={
            "items": [{"sku": "VASE", "quantity": 1}],
            "country": "FR",
            "shipping_method": "pickup",
        },
        headers={"origin": shop.base},
    )
    assert response.status_code == 201, response.text
    page.goto(response.json()["url"])
    fill_payment_page(page, CARD_OK)
    page.wait_for_url("**/order/?session_id=*")
    expect(page.locator("[data-order]")).to_be_visible(timeout=20_000)
    delivery = page.locator("[data-order-sums] .order-shipping")
    assert text(delivery) == "Livraison : Retrait Retrait en boutique"
    # Collected, and where: the pickup's name is the shop's word for the place.
    expect(page.locator("[data-order-delivery]")).to_have_text(
        "Vous venez chercher la commande\xa0: Retrait"
    )
    expect(page.locator("[data-order-address]")).to_be_hidden()
    expect(page.locator("[data-order-address-label]")).to_be_hidden()
    assert no_violations(page) == []


def test_prices_changed_since_the_quote_are_shown_before_paying(page: Page, tmp_path: Path) -> None:
    """The shop is rebuilt with a dearer bowl while the cart shows the old total: Pay shows
    the new total and says why, and only a second press opens the payment, at the new price."""
    from generator.build import build

    root = built_shop(tmp_path / "repriced")
    with running_stack(root, tmp_path / "var") as (origin, stack):
        open_cart(page, origin, ("BOL-BLEU", 1))
        before = text(page.locator("[data-total]"))
        product = root / "content" / "products" / "bol.md"
        product.write_text(product.read_text().replace("price: 24.90", "price: 26.50"))
        build(root)
        stack.reload()
        page.locator("[data-pay]").click()
        expect(page.locator("[data-checkout-error]")).to_contain_text("Les prix ont changé")
        after = text(page.locator("[data-total]"))
        assert after != before and "31,50 €" in after, (before, after)
        assert page.url.startswith(origin + "/cart/")
        page.locator("[data-pay]").click()
        page.wait_for_url(origin + "/_stripe/**")
        assert "26.50 EUR" in page.content()
