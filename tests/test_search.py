"""Search: the index `comptoir build` makes of products, pages and articles
(generator/search.py), kept in step incrementally, and the /search/ page a shopper reaches from
the header's field, in chromium under netlify.toml's CSP (phone and desktop widths, keyboard
alone, without JavaScript, axe).
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from starlette.staticfiles import StaticFiles

from generator.build import build
from generator.search import CHUNK, Record, counted, fold, make_index, packed, stem, words
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
    folder = shop / "output" / "search-index"
    return {
        p.relative_to(shop / "output").as_posix(): p.stat().st_mtime_ns
        for p in folder.rglob("*")
        if p.is_file()
    }


def listed_files(shop: Path) -> set[str]:
    return set(json.loads((shop / ".cache" / "files.json").read_text())["files"])


class Index:
    """The index as js/search.js reads it: its files, decoded."""

    def __init__(self, output: Path) -> None:
        self.folder = output / "search-index"
        self.meta = json.loads((self.folder / "meta.json").read_text())

    def documents(self) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for file in (self.folder / "docs").glob("*.json"):
            chunk = int(file.stem)
            for at, entry in enumerate(json.loads(file.read_text())):
                if entry is not None:
                    found[chunk * self.meta["chunk"] + at] = entry
        return found

    def number_of(self, url: str) -> int:
        (number,) = [n for n, entry in self.documents().items() if entry[0] == url]
        return number

    def holding(self, word: str) -> dict[int, int]:
        """The documents holding ``word`` (as indexed), with its weight in each."""
        file = self.folder / "words" / f"{word[:2]}.json"
        entries = json.loads(file.read_text()).get(word, []) if file.is_file() else []
        found, number = {}, 0
        for at in range(0, len(entries), 2):
            number += entries[at]
            found[number] = entries[at + 1]
        return found


# --- words -----------------------------------------------------------------------------------


def test_words_are_folded_as_a_shopper_types_them() -> None:
    common = frozenset({"de", "la"})
    assert list(words("Théière en FONTE de la Maison Œuvre", common)) == [
        "theiere",
        "en",
        "fonte",
        "maison",
        "oeuvre",
    ]
    assert [stem(w) for w in ("tasses", "bijoux", "verts", "the", "jus", "mass", "prix")] == [
        "tasse",
        "bijou",
        "vert",
        "the",
        "jus",
        "mass",
        "prix",
    ]
    assert list(words("THE-SENCHA-250 a b 7", frozenset())) == ["the", "sencha", "250"]
    assert fold("Ça") == "ca"


@given(st.text(max_size=40))
def test_folding_a_word_again_changes_nothing(text: str) -> None:
    """What the index holds is what a query made of it finds: words of words are the same."""
    once = list(words(text, frozenset()))
    assert list(words(" ".join(once), frozenset())) == [stem(w) for w in once]


# Letters, signs and spaces the fast paths of fold and counted handle, and others they don't.
SAMPLE = "aesuxXÉéÈœŒßñÿ -1_’«»—°\xa0\u202f.,'ΣσДж茶ǅ\u0301"


@given(st.text(alphabet=st.sampled_from(SAMPLE), max_size=60))
def test_the_index_counts_words_as_a_query_splits_them(text: str) -> None:
    common = frozenset({"es", "sus", "ee"})
    assert counted(text, common) == Counter(words(text, common))


@given(st.text(alphabet=st.sampled_from(SAMPLE), max_size=30) | st.text(max_size=30))
def test_folding_is_what_js_search_does_to_a_query(text: str) -> None:
    """js/search.js: toLowerCase, ligatures spelt out, NFKD, U+0300–U+036F removed."""
    expected = text.lower().replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    expected = re.sub("[\u0300-\u036f]", "", unicodedata.normalize("NFKD", expected))
    assert fold(text) == expected


@given(
    st.dictionaries(
        st.integers(0, 200),
        st.dictionaries(st.sampled_from(["aa", "ab", "ba", "thé", "zz9"]), st.integers(1, 60)),
    )
)
def test_the_word_files_give_back_every_document_and_weight(
    documents: dict[int, dict[str, int]],
) -> None:
    records = {n: Record(f"/p{n}/", f"P{n}", "", "", "", *packed(w)) for n, w in documents.items()}
    files = make_index(records, frozenset())
    expected: dict[str, dict[int, int]] = {}
    for number, weights in documents.items():
        for word, weight in weights.items():
            expected.setdefault(word, {})[number] = weight
    decoded: dict[str, dict[int, int]] = {}
    for path, data in files.items():
        if "/words/" in path:
            for word, entries in json.loads(data).items():
                number = 0
                for at in range(0, len(entries), 2):
                    number += entries[at]
                    decoded.setdefault(word, {})[number] = entries[at + 1]
    assert decoded == expected
    meta = json.loads(files["search-index/meta.json"])
    assert meta["documents"] == len(documents) and meta["chunk"] == CHUNK
    for number in documents:
        chunk = json.loads(files[f"search-index/docs/{number // CHUNK}.json"])
        assert chunk[number % CHUNK][0] == f"/p{number}/"


# --- the index -------------------------------------------------------------------------------


def test_build_indexes_products_pages_and_articles_only(shop: Path) -> None:
    output = shop / "output"
    index = Index(output)
    catalog = json.loads((output / "catalog.json").read_text())
    pages = len(list((shop / "content" / "pages").glob("*.md")))
    posts = len(list((shop / "content" / "blog").glob("*.md")))
    assert index.meta["documents"] == len(catalog["products"]) + pages + posts
    documents = index.documents()
    assert len(documents) == index.meta["documents"]
    urls = {entry[0] for entry in documents.values()}
    assert PRODUCT in urls and "/blog/dans-l-atelier-de-lucas/" in urls and "/cgv/" in urls
    assert not {"/", "/cart/", "/search/", "/order/"} & urls
    # A word of the description, the SKU, the category, a variant's name: all find it.
    sencha = index.number_of(PRODUCT)
    for word in ("morita", "sencha", "250", "vert", "50"):
        assert sencha in index.holding(word), word
    # The title weighs more than the text.
    assert index.holding("sencha")[sencha] > index.holding("morita")[sencha]
    _, title, price, image, text = documents[sencha]
    assert (title, price) == ("Sencha de Shizuoka", "à partir de 8,90\u00a0€")
    assert (output / image.lstrip("/")).is_file() and WORD in text
    files = index_files(shop)
    assert files and set(files) <= listed_files(shop)  # kept by the next build's stale sweep
    # The pages carry nothing for the index.
    assert "pagefind" not in (output / PRODUCT.lstrip("/") / "index.html").read_text()
    assert 'action="/search/"' in (output / "search" / "index.html").read_text()


def test_rebuilds_only_the_index_files_an_edit_touches(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    build(shop)
    before = index_files(shop)
    build(shop)  # nothing changed: the index is untouched and kept
    assert index_files(shop) == before
    assert set(before) <= listed_files(shop)

    product = next((shop / "content" / "products").glob("*.md"))
    product.write_text(product.read_text() + "\nUn mot introuvable : zorglub.\n")
    build(shop)
    after = index_files(shop)
    changed = {f for f in after if before.get(f) != after[f]}
    index = Index(shop / "output")
    (number,) = index.holding("zorglub")
    # The files of the three new words (meta.json lists the new one, zo), the product's
    # docs file (its text): nothing else is rewritten.
    assert changed == {
        "search-index/meta.json",
        f"search-index/docs/{number // index.meta['chunk']}.json",
        *(f"search-index/words/{w}.json" for w in ("mo", "in", "zo")),
    }
    assert set(after) == {f for f in listed_files(shop) if f.startswith("search-index/")}


def test_a_product_gone_leaves_the_index_and_a_new_one_takes_its_number(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(ROOT / "content", shop / "content")
    build(shop)
    index = Index(shop / "output")
    count, sencha = index.meta["documents"], index.number_of(PRODUCT)
    numbers = {entry[0]: n for n, entry in index.documents().items()}
    source = shop / "content" / "products" / "sencha-de-shizuoka.md"
    text = source.read_text()
    source.unlink()
    build(shop)
    index = Index(shop / "output")
    assert index.meta["documents"] == count - 1
    assert PRODUCT not in {entry[0] for entry in index.documents().values()}
    assert not index.holding("morita").keys() - {numbers["/blog/recoltes-de-printemps-2026/"]}
    # Every other document kept its number; a new product takes the free one.
    assert {e[0]: n for n, e in index.documents().items()} == {
        url: n for url, n in numbers.items() if url != PRODUCT
    }
    (shop / "content" / "products" / "sencha-neuf.md").write_text(text)
    build(shop)
    assert Index(shop / "output").number_of("/products/sencha-neuf/") == sencha


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
        # Words as a shopper types them: the page folds them as the build did (case, accents,
        # plurals), and a word being typed finds the words it starts.
        for query, first_result in (
            ("THEIERES", "/products/theiere-kyusu-gres/"),
            ("théière grès", "/products/theiere-kyusu-gres/"),
            ("chawa", "/products/chawan-gres-noir/"),
            ("bergamote calabre", "/products/earl-grey-bergamote/"),
        ):
            field = page.locator("#search-q")
            field.fill(query)
            page.wait_for_function(
                """([query, url]) => document.querySelector("[data-search-status]").textContent
                    .includes(query) && document.querySelector("[data-search-results] a")
                    ?.getAttribute("href") === url""",
                arg=[query, first_result],
            )
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


def test_results_follow_their_pictures_and_a_broken_cache_is_made_again(tmp_path: Path) -> None:
    """An article's picture replaced under the same name has a new URL: its search result
    shows the new one. A cache the build cannot read is made again, not trusted."""
    shop = tmp_path / "shop"
    shutil.copytree(ROOT / "content", shop / "content")
    build(shop)
    article = "/blog/dans-l-atelier-de-lucas/"

    def image_of(url: str) -> str:
        index = Index(shop / "output")
        image = index.documents()[index.number_of(url)][3]
        assert (shop / "output" / image.lstrip("/")).is_file()
        return image

    before = image_of(article)
    picture = shop / "content" / "images" / "blog-atelier.jpg"
    with Image.open(picture) as image:
        image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(picture)
    build(shop)
    assert image_of(article) != before

    snapshot = index_files(shop)
    cache = shop / ".cache" / "search"
    (cache / "records.pickle").write_bytes(b"not a pickle")
    # What a build of the Pagefind days left there goes with it.
    (cache / "documents" / "products" / "bol").mkdir(parents=True)
    (cache / "documents" / "products" / "bol" / "index.html").write_text("<h1>Bol</h1>")
    (cache / "index.json").write_text("{}")
    build(shop)
    assert index_files(shop) == snapshot  # made again, to the same bytes: nothing rewritten
    assert sorted(p.name for p in cache.iterdir()) == ["records.pickle", "written.json"]
    assert Index(shop / "output").meta["documents"] == len(Index(shop / "output").documents())
