"""The storefront with its functions behind it: live stock on product pages and cards, and
the cart's line totals, as a shopper's browser sees them after sales made through the API.

The mini shop runs for real on 127.0.0.1 (static site, /api, the offline Stripe emulator),
as in ``tests/test_checkout_browser.py``; Debian's chromium drives the pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from comptoir.local import LocalStack
from tests.apishop import built_shop, running_stack
from tests.test_checkout_flow import pay, session_of, wait_for
from tests.webtools import collect_requests

BOWL = "/products/bol/"  # Bol bleu, BOL-BLEU: 3 in stock as built


@pytest.fixture(scope="module")
def shop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_shop(tmp_path_factory.mktemp("storefront-live"))


@pytest.fixture
def stack(shop_root: Path, tmp_path: Path) -> Iterator[tuple[str, LocalStack]]:
    with running_stack(shop_root, tmp_path) as running:
        yield running


def sell(base: str, stack: LocalStack, sku: str, quantity: int) -> None:
    """A shopper buys through the API and pays on the emulator's page; waits for the order."""
    response = httpx.post(
        base + "/api/checkout",
        json={"items": [{"sku": sku, "quantity": quantity}], "country": "FR"},
        headers={"origin": base},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    pay(url)
    session = session_of(url)
    wait_for(lambda: httpx.get(f"{base}/api/orders/{session}").json().get("status") == "paid")


def plain(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def phone(browser: Browser, javascript: bool = True) -> Page:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, java_script_enabled=javascript
    )
    return context.new_page()


def test_product_page_shows_live_stock_after_a_sale(
    browser: Browser, stack: tuple[str, LocalStack]
) -> None:
    base, local = stack
    sell(base, local, "BOL-BLEU", 1)
    assert local.store.available(["BOL-BLEU"], dt.datetime.now(dt.UTC))["BOL-BLEU"] == 2

    page = phone(browser)
    requests = collect_requests(page)
    page.goto(base + BOWL)
    availability = page.locator("[data-availability]")
    page.wait_for_function(
        "document.querySelector('[data-availability]').textContent.includes('2')"
    )
    assert plain(availability.inner_text()) == "Plus que 2 exemplaires"
    quantity = page.locator("input[name=quantity]")
    assert quantity.get_attribute("max") == "2"
    quantity.fill("3")
    page.locator("form[data-add-to-cart] [type=submit]").click()
    page.wait_for_function("localStorage.getItem('comptoir.cart.v1') !== null")
    stored = page.evaluate("JSON.parse(localStorage.getItem('comptoir.cart.v1')).lines")
    assert [(line["sku"], line["quantity"]) for line in stored] == [("BOL-BLEU", 2)]
    assert len([u for u in requests if "/api/stock" in u]) == 1

    # As built, without JavaScript, the page says what it said at build time.
    still = phone(browser, javascript=False)
    still.goto(base + BOWL)
    assert plain(still.locator("[data-availability]").inner_text()) == "Plus que 3 exemplaires"
    assert still.locator("input[name=quantity]").get_attribute("max") == "3"
    page.context.close()
    still.context.close()


def test_sold_out_after_a_sale_on_the_page_and_the_cards(
    browser: Browser, stack: tuple[str, LocalStack]
) -> None:
    base, local = stack
    sell(base, local, "BOL-BLEU", 3)
    page = phone(browser)
    page.goto(base + BOWL)
    button = page.locator("form[data-add-to-cart] [type=submit]")
    page.wait_for_function(
        "document.querySelector('form[data-add-to-cart] [type=submit]').disabled"
    )
    assert plain(button.inner_text()) == "Épuisé"
    assert plain(page.locator("[data-availability]").inner_text()) == "Épuisé"

    page.goto(base + "/category/ceramiques/")
    card = page.locator(".card", has_text="Bol bleu")
    page.wait_for_selector(".card .badge-soldout:not([hidden])")
    assert plain(card.locator(".badge:visible").inner_text()) == "Épuisé"
    page.context.close()


def test_a_variant_sold_since_the_build_cannot_be_chosen(
    browser: Browser, stack: tuple[str, LocalStack]
) -> None:
    base, local = stack
    sell(base, local, "THE-SENCHA-50", 10)  # all of them: the 100 g is sold out as built
    page = phone(browser)
    page.goto(base + "/products/the/")
    radio = page.locator("input[name=sku][value='THE-SENCHA-50']")
    page.wait_for_function(
        "document.querySelector(\"input[name=sku][value='THE-SENCHA-50']\").disabled"
    )
    assert not radio.is_checked()
    assert page.locator("form[data-add-to-cart] [type=submit]").is_disabled()
    page.context.close()


def test_cart_lines_show_their_totals(browser: Browser, stack: tuple[str, LocalStack]) -> None:
    base, _ = stack
    page = phone(browser)
    page.goto(f"{base}/cart/?sku=BOL-BLEU&quantity=2")
    page.wait_for_selector("[data-total]:not(:empty)")
    line = page.locator("[data-cart] li").first
    total = line.locator("[data-line-total]")
    assert plain(total.inner_text()) == "Total de la ligne : 49,80 €"
    assert plain(total.evaluate("e => e.lastChild.textContent")) == "49,80 €"
    line.locator("button[data-step='1']").click()
    page.wait_for_function(
        "document.querySelector('[data-line-total]').textContent.includes('74,70')"
    )
    page.context.close()
