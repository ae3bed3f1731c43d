"""The example shop as a shopper's browser sees it: cart, keyboard, accessibility,
HTML validity, Lighthouse, page weight and third-party requests.

Runs Debian's chromium through playwright; a missing browser fails (never skips).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.build import build
from shop.text import slugify
from tests.apishop import running_stack
from tests.sitecheck import file_for
from tests.webtools import (
    LIGHTHOUSE_FAILED_AUDITS,
    collect_requests,
    run_axe,
    run_lighthouse,
    run_vnu,
)

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("COMPTOIR_SCREENSHOTS", "/tmp/comptoir-screenshots"))


@pytest.fixture(scope="module")
def example_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example shop, built (its functions read the published shop beside it)."""
    shop = tmp_path_factory.mktemp("example") / "shop"
    shutil.copytree(ROOT / "content", shop / "content")
    build(shop)
    return shop


@pytest.fixture(scope="module")
def example_output(example_shop: Path) -> Path:
    return example_shop / "output"


@pytest.fixture(scope="module")
def site(example_shop: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example shop served with its functions (the pages ask /api/stock)."""
    with running_stack(example_shop, tmp_path_factory.mktemp("example-var")) as (base, _):
        yield base


@pytest.fixture(scope="module")
def catalog(example_output: Path) -> dict[str, Any]:
    return json.loads((example_output / "catalog.json").read_text())  # type: ignore[no-any-return]


def product_with_variants(catalog: dict[str, Any]) -> dict[str, Any]:
    return next(
        p
        for p in catalog["products"]
        if len([i for i in p["items"] if i["stock"] is None or i["stock"] > 0]) >= 2
    )


def simple_product(catalog: dict[str, Any]) -> dict[str, Any]:
    return next(
        p for p in catalog["products"] if len(p["items"]) == 1 and (p["items"][0]["stock"] or 1) > 0
    )


def cart_count(page: Any) -> str:
    return str(page.locator("[data-cart-count]").first.inner_text()).strip()


@pytest.mark.browser
def test_choose_variant_add_change_quantity_and_reload(
    page: Any, site: str, catalog: dict[str, Any]
) -> None:
    product = product_with_variants(catalog)
    available = [i for i in product["items"] if i["stock"] is None or i["stock"] > 0]
    choice = available[1]
    requests = collect_requests(page)
    page.goto(site + product["url"])
    page.locator(f'input[name="sku"][value="{choice["sku"]}"]').check()
    price = page.locator("[data-price-display]").first.inner_text()
    assert price.replace("\u202f", " ").replace("\xa0", " ") == choice["price_display"].replace(
        "\u202f", " "
    ).replace("\xa0", " ")
    page.locator('input[name="quantity"]').fill("2")
    page.locator("form[data-add-to-cart] [type=submit]").click()
    page.wait_for_function("document.querySelector('[data-cart-count]').textContent.trim() === '2'")
    assert page.locator("[data-cart-status]").inner_text().strip() != ""

    page.goto(site + "/cart/")
    line = page.locator("[data-cart] li, [data-cart] tr").filter(has_text=product["title"]).first
    quantity = line.locator('input[type="number"]')
    assert quantity.input_value() == "2"
    quantity.fill("3")
    quantity.dispatch_event("change")
    page.wait_for_function("document.querySelector('[data-cart-count]').textContent.trim() === '3'")
    page.reload()
    line = page.locator("[data-cart] li, [data-cart] tr").filter(has_text=product["title"]).first
    assert line.locator('input[type="number"]').input_value() == "3"
    stored = page.evaluate("JSON.parse(localStorage.getItem('comptoir.cart.v1'))")
    assert [(entry["sku"], entry["quantity"]) for entry in stored["lines"]] == [(choice["sku"], 3)]
    assert cart_count(page) == "3"
    assert all(url.startswith(site) for url in requests), [
        u for u in requests if not u.startswith(site)
    ]


@pytest.mark.browser
def test_add_to_cart_with_keyboard_alone(page: Any, site: str, catalog: dict[str, Any]) -> None:
    product = simple_product(catalog)
    page.goto(site + product["url"])
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('form[data-add-to-cart] [type=submit]')"):
            break
    else:
        pytest.fail("the add-to-cart button cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('[data-cart-count]').textContent.trim() === '1'")
    stored = page.evaluate("JSON.parse(localStorage.getItem('comptoir.cart.v1'))")
    assert stored["lines"][0]["sku"] == product["items"][0]["sku"]


@pytest.mark.browser
def test_product_page_works_without_javascript(
    browser: Any, site: str, catalog: dict[str, Any]
) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        product = product_with_variants(catalog)
        page.goto(site + product["url"])
        for item in product["items"]:
            radio = page.locator(f'input[name="sku"][value="{item["sku"]}"]')
            radio_id = radio.get_attribute("id")
            label = page.locator(f'label[for="{radio_id}"]').or_(
                page.locator(f'label:has(input[value="{item["sku"]}"])')
            )
            text = label.first.inner_text().replace("\u202f", " ").replace("\xa0", " ")
            assert item["price_display"].replace("\u202f", " ").replace("\xa0", " ") in text
        page.locator(f'input[name="sku"][value="{product["items"][0]["sku"]}"]').check()
        page.locator("form[data-add-to-cart] [type=submit]").click()
        assert "/cart/" in page.url and f"sku={product['items'][0]['sku']}" in page.url
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1280])
def test_screenshots(browser: Any, site: str, catalog: dict[str, Any], width: int) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        requests = collect_requests(page)
        product = product_with_variants(catalog)
        for name, path in (
            ("home", "/"),
            ("product", product["url"]),
            ("category", "/category/" + product["url"].split("/")[2] + "/"),
            ("cart", "/cart/"),
            ("legal", "/mentions-legales/"),
        ):
            if name == "category":
                path = page.locator("nav a[href^='/category/']").first.get_attribute("href") or "/"
            page.goto(site + path)
            page.wait_for_load_state("networkidle")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} scrolls sideways at {width}px"
            target = SHOTS / f"{name}-{width}.png"
            page.screenshot(path=str(target), full_page=True)
            assert target.stat().st_size > 5_000
        foreign = [u for u in requests if not u.startswith(site) and not u.startswith("data:")]
        assert foreign == []
    finally:
        context.close()


AXE_PAGES = ["/", "PRODUCT", "CATEGORY", "/cart/", "/mentions-legales/", "/cgv/"]


@pytest.mark.browser
@pytest.mark.parametrize("path", AXE_PAGES)
def test_axe_has_no_violations(page: Any, site: str, catalog: dict[str, Any], path: str) -> None:
    if path == "PRODUCT":
        path = product_with_variants(catalog)["url"]
    elif path == "CATEGORY":
        page.goto(site + "/")
        path = page.locator("nav a[href^='/category/']").first.get_attribute("href")
    page.goto(site + path)
    if path == "/cart/":  # the cart with a line in it, as a shopper sees it
        item = simple_product(catalog)["items"][0]
        page.goto(site + f"/cart/?sku={item['sku']}&quantity=2")
        page.wait_for_selector("[data-cart] input[type=number]")
    violations = run_axe(page)
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []


def test_every_page_is_valid_html(example_output: Path) -> None:
    assert run_vnu([example_output]) == []


def page_weight(output: Path, path: str) -> int:
    html = file_for(output, path).read_text(encoding="utf-8")
    total = len(html.encode())
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', html):
        total += file_for(output, asset).stat().st_size
    return total


# Uncompressed HTML + CSS + JS per page (images aside), by the page's first path segment.
BUDGETS_KB = {"products": 40, "category": 60, "tag": 60}
OTHER_PAGES_KB = 60  # home, cart, order, legal pages, blog, 404


def test_every_page_type_within_budget(example_output: Path) -> None:
    over: dict[str, int] = {}
    heaviest: dict[str, int] = {}
    for page in example_output.rglob("*.html"):
        relative = page.relative_to(example_output).as_posix()
        kind = relative.split("/")[0] if "/" in relative else relative
        url = "/" + relative.removesuffix("index.html")
        weight = page_weight(example_output, url)
        heaviest[kind] = max(heaviest.get(kind, 0), weight)
        if weight > BUDGETS_KB.get(kind, OTHER_PAGES_KB) * 1024:
            over[url] = weight
    print("heaviest page per type (bytes):", dict(sorted(heaviest.items())))
    assert {"products", "category", "tag", "index.html", "cart", "order"} <= set(heaviest)
    assert over == {}


def test_no_layout_shift_from_images(example_output: Path) -> None:
    unsized = [
        (str(page.relative_to(example_output)), tag)
        for page in example_output.rglob("*.html")
        for tag in re.findall(r"<img\b[^>]*>", page.read_text())
        if not (re.search(r"\bwidth=\"\d+\"", tag) and re.search(r"\bheight=\"\d+\"", tag))
    ]
    assert unsized == []


def test_no_other_origin_in_any_page(example_output: Path) -> None:
    pattern = re.compile(r'(?:src|href|srcset|action)="(?:https?:)?//(?!the-et-terre\.example)')
    offenders = [str(p) for p in example_output.rglob("*.html") if pattern.search(p.read_text())]
    assert offenders == []


@pytest.mark.browser
@pytest.mark.parametrize("which", ["home", "product", "category", "cart", "search"])
def test_lighthouse_mobile_scores(site: str, catalog: dict[str, Any], which: str) -> None:
    product = product_with_variants(catalog)
    path = {
        "home": "/",
        "product": product["url"],
        "category": "/category/" + slugify(product["category"]) + "/",
        "cart": "/cart/",
        "search": "/search/?q=th%C3%A9",
    }[which]
    scores = run_lighthouse(site + path)
    print(f"Lighthouse {which} {path}: {scores}")
    # The bar: performance never below 0.95 (1.0 is the aim), and accessibility,
    # best practices and SEO at 1.0. The cart is crawlable (its canonical URL folds the
    # ?sku=… links of the no-JavaScript form into /cart/), so it is held to the same bar.
    failed = LIGHTHOUSE_FAILED_AUDITS[site + path]
    assert scores["performance"] >= 0.95, (scores, failed)
    assert {k: v for k, v in scores.items() if k != "performance"} == {
        "accessibility": 1.0,
        "best-practices": 1.0,
        "seo": 1.0,
    }, (scores, failed)


# -- what the first visit found (issue 15, part 4) ------------------------------------------------

PHONE = {"width": 390, "height": 844}


@pytest.mark.browser
def test_blog_teaser_without_an_image_takes_the_whole_width(browser: Any, site: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(site + "/blog/")
        widths = page.evaluate(
            """() => [...document.querySelectorAll('.post-teaser')].map(li =>
                [li.querySelector('h2').getBoundingClientRect().width, li.getBoundingClientRect().width,
                 !!li.querySelector('img')])"""
        )
        assert any(not has_image for _, _, has_image in widths), (
            "the example has a post without image"
        )
        squeezed = [(text, whole) for text, whole, has_image in widths if text < whole * 0.6]
        assert squeezed == []
    finally:
        context.close()


@pytest.mark.browser
def test_category_menu_fits_a_phone(browser: Any, site: str) -> None:
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(site + "/")
        menu = page.evaluate(
            """() => { const ul = document.querySelector('.site-nav ul');
                return {overflow: ul.scrollWidth - ul.clientWidth,
                        outside: [...ul.querySelectorAll('a')].filter(a =>
                            a.getBoundingClientRect().right > innerWidth).map(a => a.textContent)}; }"""
        )
        assert menu == {"overflow": 0, "outside": []}
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [1024, 1100, 1280])
def test_the_category_menu_keeps_to_one_line_on_a_laptop(
    browser: Any, site: str, width: int
) -> None:
    """At 1024 px the menu, squeezed between the name and the search field, broke "Thés
    verts" onto a second line under the others."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.goto(site + "/")
        tops = page.evaluate(
            "[...document.querySelectorAll('.site-nav a')].map(a => a.getBoundingClientRect().top)"
        )
        assert len(tops) >= 5 and max(tops) - min(tops) < 1, f"{width} px: rows at {tops}"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
    finally:
        context.close()


@pytest.mark.browser
def test_choosing_a_variant_shows_its_photo(page: Any, site: str) -> None:
    page.goto(site + "/products/theiere-kyusu-gres/")
    main = page.locator(".gallery-main img")
    assert "/images/kyusu-brun-" not in main.evaluate("img => img.currentSrc")
    page.locator(".variant", has_text="Brun tenmoku").click()
    page.wait_for_function(
        "document.querySelector('.gallery-main img').currentSrc.includes('kyusu-brun')"
    )
    assert "brun tenmoku" in (main.get_attribute("alt") or "")
    page.locator(".variant", has_text="Bleu céladon").click()
    page.wait_for_function(
        "!document.querySelector('.gallery-main img').currentSrc.includes('kyusu-brun')"
    )


def test_variant_photos_are_all_in_the_page_as_built(example_output: Path) -> None:
    """Without JavaScript the shopper still sees every variant's photo."""
    html = file_for(example_output, "/products/theiere-kyusu-gres/").read_text()
    assert "/images/kyusu-brun-" in html and re.search(r"/images/kyusu-[0-9a-f]+-", html)


def test_a_sale_on_one_size_says_which(example_output: Path) -> None:
    html = file_for(example_output, "/category/thes-noirs/").read_text()
    card = html[html.index("Earl Grey") :]
    card = card[: card.index("</li>")]
    badge = re.search(r'<p class="badge badge-sale">(.*?)</p>', card)
    assert badge is not None
    assert badge.group(1) == "Promotion\u00a0: 250\u00a0g"


def test_a_lead_time_is_stated_under_the_buy_button(example_output: Path) -> None:
    html = file_for(example_output, "/products/theiere-kyusu-gres/").read_text()
    start = html.index('<form class="buy"')
    form = html[start : html.index("</form>", start)]
    # Under the button, so that the button keeps its place on a phone's first screen.
    assert form.index("Expédié sous 10 jours ouvrés") > form.index('type="submit"')
    other = file_for(example_output, "/products/assam-breakfast/").read_text()
    assert "Expédié sous" not in other and "lead-time" not in other


@pytest.mark.browser
def test_the_cart_says_a_lines_lead_time(page: Any, site: str) -> None:
    page.goto(site + "/cart/?sku=CER-KYUSU-CELADON&quantity=1")
    line = page.locator("[data-cart] li").filter(has_text="kyusu").first
    lead = line.locator("[data-line-lead-time]")
    lead.wait_for(state="visible")
    assert lead.inner_text().replace("\u00a0", " ") == "Expédié sous 10 jours ouvrés"


QUANTITY = re.compile(r"\d (?:g|kg|cl|ml|l|cm|mm|h|°C|€|%)(?![\w-])|« | »")


def test_quantities_and_prices_never_wrap(example_output: Path) -> None:
    """A number and its unit are joined by a no-break space, in texts and in the data-*
    texts the scripts show; so are French quotation marks and their words (a lone "»"
    started a line under "Long Jing « Puits du Dragon »")."""
    from html.parser import HTMLParser

    found: list[tuple[str, str]] = []

    class Texts(HTMLParser):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name, self.script = name, False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.script = tag == "script"
            for key, value in attrs:
                if key.startswith("data-") and value and QUANTITY.search(value):
                    found.append((self.name, value))

        def handle_endtag(self, tag: str) -> None:
            self.script = False

        def handle_data(self, data: str) -> None:
            if not self.script and QUANTITY.search(data):
                found.append((self.name, data.strip()))

    for page in [*example_output.glob("products/*/index.html"), example_output / "index.html"]:
        parser = Texts(page.parent.name)
        parser.feed(page.read_text())
    assert found == []


@pytest.mark.browser
def test_buy_button_on_the_first_phone_screen(
    browser: Any, site: str, catalog: dict[str, Any]
) -> None:
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        low = {}
        for product in catalog["products"]:
            page.goto(site + product["url"])
            bottom = page.locator("form[data-add-to-cart] [type=submit]").evaluate(
                "b => b.getBoundingClientRect().bottom"
            )
            if bottom > PHONE["height"]:
                low[product["url"]] = round(bottom)
        assert low == {}
    finally:
        context.close()
