"""Search: the index `comptoir build` makes with Pagefind from the site's search documents,
kept in step incrementally, and the /search/ page a shopper reaches from the header's field, in
chromium under netlify.toml's CSP (phone and desktop widths, keyboard alone, without
JavaScript, axe).
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from starlette.staticfiles import StaticFiles

from generator.build import build
from tests.netlify_rules import NetlifyHeaders, netlify_config
from tests.servers import serve_app
from tests.webtools import run_axe

ROOT = Path(__file__).resolve().parent.parent
MINI = Path(__file__).parent / "fixtures" / "mini"
# A word of the sencha's description, not of its title.
WORD, PRODUCT = "Morita", "/products/sencha-de-shizuoka/"
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI}`);
});
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shop = tmp_path_factory.mktemp("search") / "shop"
    shutil.copytree(ROOT / "content", shop / "content")
    build(shop)
    return shop


@pytest.fixture(scope="module")
def site(shop: Path) -> Iterator[str]:
    """The built example, static files with netlify.toml's headers (its CSP among them)."""
    app = NetlifyHeaders(StaticFiles(directory=shop / "output", html=True), netlify_config())
    with serve_app(app) as base:
        yield base


def index_files(shop: Path) -> dict[str, int]:
    folder = shop / "output" / "pagefind"
    return {
        p.relative_to(shop / "output").as_posix(): p.stat().st_mtime_ns
        for p in folder.rglob("*")
        if p.is_file()
    }


def listed_files(shop: Path) -> set[str]:
    return set(json.loads((shop / ".cache" / "files.json").read_text())["files"])


# --- the index -------------------------------------------------------------------------------


def test_build_indexes_products_pages_and_articles_only(shop: Path) -> None:
    output = shop / "output"
    entry = json.loads((output / "pagefind" / "pagefind-entry.json").read_text())
    catalog = json.loads((output / "catalog.json").read_text())
    pages = len(list((shop / "content" / "pages").glob("*.md")))
    posts = len(list((shop / "content" / "blog").glob("*.md")))
    (language,) = entry["languages"].values()
    assert language["page_count"] == len(catalog["products"]) + pages + posts
    # What is indexed is the product's search document, at its page's path.
    path = PRODUCT.lstrip("/") + "index.html"
    document = (shop / ".cache" / "search" / "documents" / path).read_text()
    assert WORD in document and "THE-SENCHA-250" in document and "Thés verts" in document
    files = index_files(shop)
    assert files and set(files) <= listed_files(shop)  # kept by the next build's stale sweep
    assert not [f for f in files if "-ui." in f]  # Pagefind's own interfaces are left out
    search_page = (output / "search" / "index.html").read_text()
    assert 'action="/search/"' in search_page
    # The pages carry nothing for the index: it reads the search documents.
    assert "pagefind" not in (output / path).read_text()


def test_rebuilds_index_again_only_when_a_page_changed(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    build(shop)
    before = index_files(shop)
    build(shop)  # nothing changed: Pagefind does not run, the index is untouched and kept
    assert index_files(shop) == before
    assert set(before) <= listed_files(shop)

    product = next((shop / "content" / "products").glob("*.md"))
    product.write_text(product.read_text() + "\nUn mot introuvable : zorglub.\n")
    build(shop)
    after = index_files(shop)
    assert after != before
    assert set(after) == {f for f in listed_files(shop) if f.startswith("pagefind/")}
    # Fragments of unchanged pages keep their bytes and are not rewritten.
    unchanged = {f for f in set(before) & set(after) if f.startswith("pagefind/fragment/")}
    assert unchanged and all(before[f] == after[f] for f in unchanged)
    # The stale files of the last index are gone.
    assert set(after) == set(index_files(shop))


def test_a_product_gone_leaves_the_index(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(ROOT / "content", shop / "content")
    build(shop)
    (shop / "content" / "products" / "sencha-de-shizuoka.md").unlink()
    build(shop)
    path = PRODUCT.lstrip("/") + "index.html"
    assert not (shop / ".cache" / "search" / "documents" / path).exists()
    entry = json.loads((shop / "output" / "pagefind" / "pagefind-entry.json").read_text())
    (language,) = entry["languages"].values()
    catalog = json.loads((shop / "output" / "catalog.json").read_text())
    texts = [*(shop / "content").glob("pages/*.md"), *(shop / "content").glob("blog/*.md")]
    assert language["page_count"] == len(catalog["products"]) + len(texts)
    fragments = (shop / "output" / "pagefind" / "fragment").iterdir()
    assert not any(PRODUCT.encode() in gzip.decompress(f.read_bytes()) for f in fragments)


# --- the page --------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [390, 1280])
def test_search_from_the_header_finds_a_product_by_its_description(
    browser: Any, site: str, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    page.add_init_script(WATCH)
    # The product page asks the functions for live stock: none here, nothing is known.
    page.route("**/api/stock?*", lambda route: route.fulfill(json={"stock": {}}))
    try:
        page.goto(site + "/mentions-legales/")
        field = page.locator("#search-q")
        assert field.is_visible()
        field.fill(WORD)
        field.press("Enter")
        page.wait_for_url("**/search/?q=" + WORD)
        first = page.locator("[data-search-results] li").first
        first.wait_for()
        assert first.locator("a").get_attribute("href") == PRODUCT
        assert first.locator("a").inner_text() == "Sencha de Shizuoka"
        assert "€" in first.locator(".search-result-price").inner_text()
        image = first.locator("img")
        assert image.get_attribute("src").startswith("/images/")  # type: ignore[union-attr]
        page.wait_for_function("() => document.querySelector('[data-search-results] img').complete")
        assert page.evaluate("document.querySelector('[data-search-results] img').naturalWidth") > 0
        assert WORD in first.locator("mark").first.inner_text()
        status = page.locator("[data-search-status]")
        assert status.get_attribute("role") == "status"
        assert WORD in status.inner_text()

        # Keyboard alone: from the field to the result, back, and into the product.
        field.focus()
        page.keyboard.press("ArrowDown")
        assert page.evaluate("document.activeElement.getAttribute('href')") == PRODUCT
        page.keyboard.press("Escape")
        assert page.evaluate("document.activeElement.id") == "search-q"
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.wait_for_url("**" + PRODUCT)

        # The field searches again in place: a SKU, then nothing found.
        page.goto(site + "/search/?q=THE-SENCHA-250")
        page.locator(f'[data-search-results] a[href="{PRODUCT}"]').wait_for()
        page.locator("#search-q").fill("zzzqqq")
        page.wait_for_function("() => !document.querySelector('[data-search-results] li')")
        page.wait_for_function(
            "() => document.querySelector('[data-search-status]').textContent.includes('zzzqqq')"
        )
        assert "q=zzzqqq" in page.url
        problems += page.evaluate("window.__violations")
    finally:
        context.close()
    assert problems == []


def test_the_search_page_without_javascript_says_so_and_offers_the_categories(
    browser: Any, site: str
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(site + "/products/sencha-de-shizuoka/")
        page.locator("#search-q").fill(WORD)
        page.locator(".site-search button").click()  # a plain form: GET /search/?q=…
        page.wait_for_url("**/search/?q=" + WORD)
        assert "JavaScript" in page.locator("main noscript").inner_text()
        categories = page.locator(".search-browse a")
        assert categories.count() >= 2
        href = categories.first.get_attribute("href")
        assert href and page.request.get(site + href).ok
    finally:
        context.close()


def test_the_search_page_passes_axe(browser: Any, site: str) -> None:
    # axe is injected as an inline script, which the CSP forbids: this context ignores it.
    context = browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        page.goto(site + "/search/?q=th%C3%A9")
        page.locator("[data-search-results] li").first.wait_for()
        page.locator("[data-search-more]").wait_for()
        violations = run_axe(page)
    finally:
        context.close()
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []


# The field's width and what its placeholder needs, typed in (so the room Chromium keeps for a
# search field's clear button counts too).
PLACEHOLDER_FIT = """() => {
    const field = document.querySelector("#search-q");
    field.value = field.placeholder;
    return [field.clientWidth, field.scrollWidth];
}"""


@pytest.mark.parametrize("width", [390, 1024, 1280])
def test_the_header_field_shows_its_whole_placeholder(browser: Any, site: str, width: int) -> None:
    """On a desktop the field sat between the menu and the cart, cut to "Recherche"."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.goto(site + "/mentions-legales/")
        room, text = page.evaluate(PLACEHOLDER_FIT)
        assert room >= text, f"at {width} px the field shows {room} px of {text}"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
    finally:
        context.close()


def test_documents_follow_their_pictures_and_strays_go(tmp_path: Path) -> None:
    """An article's picture replaced under the same name has a new URL: its search result
    shows the new one. A document left by a build stopped halfway is removed."""
    shop = tmp_path / "shop"
    shutil.copytree(ROOT / "content", shop / "content")
    build(shop)
    documents = shop / ".cache" / "search" / "documents"
    article = documents / "blog" / "dans-l-atelier-de-lucas" / "index.html"
    picture = shop / "content" / "images" / "blog-atelier.jpg"
    before = re.search(r'data-image="([^"]+)"', article.read_text())
    assert before is not None and (shop / "output" / before.group(1).lstrip("/")).is_file()
    with Image.open(picture) as image:
        image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(picture)
    stray = documents / "products" / "gone" / "index.html"
    stray.parent.mkdir(parents=True)
    stray.write_text("<html><body data-pagefind-body><h1>Gone</h1></body></html>")
    build(shop)
    after = re.search(r'data-image="([^"]+)"', article.read_text())
    assert after is not None and after.group(1) != before.group(1)
    assert (shop / "output" / after.group(1).lstrip("/")).is_file()
    assert not stray.exists()
