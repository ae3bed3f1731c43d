"""The build's output, read as files: pages, prices, catalogue, sitemap, links."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from generator import content_cache, pages
from generator.build import build, theme_dir
from generator.i18n import load_translations
from generator.parallel import can_fork, forked_map
from generator.presenters import MarkdownCache
from shop.content import load_content
from tests.sitecheck import file_for, internal_links, url_of

MINI = Path(__file__).parent / "fixtures" / "mini"


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shop = tmp_path_factory.mktemp("mini") / "shop"
    shutil.copytree(MINI, shop)
    build(shop)
    return shop


def fr(text: str) -> str:
    return load_translations(theme_dir(MINI), "fr").gettext(text)


def read(shop: Path, path: str) -> str:
    return file_for(shop / "output", path).read_text(encoding="utf-8")


def test_every_active_product_has_a_page_and_drafts_none(mini: Path) -> None:
    products = {p.parent.name for p in (mini / "output" / "products").glob("*/index.html")}
    assert products == {"bol", "the", "tasse", "vase"}
    assert "DRAFT-1" not in (mini / "output" / "catalog.json").read_text()
    assert not any("Brouillon" in p.read_text() for p in (mini / "output").rglob("*.html"))


def test_prices_are_french_and_exact(mini: Path) -> None:
    bol = read(mini, "/products/bol/")
    assert "24,90\xa0€" in bol
    assert "29,00\xa0€" in bol  # the former price, struck through
    the = read(mini, "/products/the/")
    assert "9,50\xa0€" in the and "17,00\xa0€" in the


def test_sold_out_is_shown(mini: Path) -> None:
    page = read(mini, "/products/tasse/")
    assert fr("Sold out") in page
    assert "https://schema.org/OutOfStock" in page
    assert re.search(r"<button[^>]*\bdisabled", page)
    # a product with one sold-out variant stays buyable through the other
    the = read(mini, "/products/the/")
    assert "https://schema.org/InStock" in the and "https://schema.org/OutOfStock" in the


def test_json_ld_product_offer(mini: Path) -> None:
    page = read(mini, "/products/bol/")
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert match
    data = json.loads(match.group(1))
    assert data["@type"] == "Product" and data["sku"] == "BOL-BLEU"
    assert data["offers"]["price"] == "24.90" and data["offers"]["priceCurrency"] == "EUR"
    assert data["image"][0].startswith("https://mini.example/images/")
    assert '<link rel="canonical" href="https://mini.example/products/bol/">' in page
    assert 'property="og:title"' in page and 'name="twitter:card"' in page


def test_catalog_json_matches_content(mini: Path) -> None:
    catalog = json.loads((mini / "output" / "catalog.json").read_text())
    items = {i["sku"]: i for p in catalog["products"] for i in p["items"]}
    assert set(items) == {"BOL-BLEU", "THE-SENCHA-50", "THE-SENCHA-100", "TASSE", "VASE"}
    assert items["BOL-BLEU"]["price"] == 2490 and items["BOL-BLEU"]["compare_at_price"] == 2900
    assert items["THE-SENCHA-50"]["price"] == 950 and items["THE-SENCHA-100"]["price"] == 1700
    assert items["THE-SENCHA-100"]["stock"] == 0 and items["VASE"]["stock"] is None
    assert items["THE-SENCHA-50"]["options"] == {"taille": "50 g"}
    assert catalog["tax_classes"] == {"standard": "20", "reduced": "5.5"}
    body = {k: v for k, v in catalog.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert catalog["hash"] == hashlib.sha256(canonical.encode()).hexdigest()


def test_category_pages_are_paginated(mini: Path) -> None:
    first = read(mini, "/category/ceramiques/")
    second = read(mini, "/category/ceramiques/page/2/")
    assert "/category/ceramiques/page/2/" in first
    assert 'aria-current="page"' in second
    assert not file_for(mini / "output", "/category/ceramiques/page/3/").exists()


# The cart and order pages, and the withdrawal form's steps (noindex: one shopper's errand).
NOT_IN_SITEMAP = (
    "/cart/",
    "/order/",
    "/search/",
    "/retractation/formulaire/",
    "/retractation/confirmee/",
)


def test_sitemap_lists_every_public_page(mini: Path) -> None:
    output = mini / "output"
    tree = ET.parse(output / "sitemap.xml")
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    listed = {loc.text for loc in tree.getroot().findall("s:url/s:loc", ns)}
    pages = {
        "https://mini.example" + url_of(output, page)
        for page in output.rglob("*.html")
        if page.name != "404.html" and not url_of(output, page).startswith(NOT_IN_SITEMAP)
    }
    assert listed == pages
    assert "Sitemap: https://mini.example/sitemap.xml" in (output / "robots.txt").read_text()


def test_the_cart_is_crawlable_and_order_pages_are_not(mini: Path) -> None:
    """The cart is a public page (Lighthouse SEO 1.0, its canonical folds the ?sku=…
    links into /cart/); an order page shows one shopper's order and stays out of search."""
    robots = (mini / "output" / "robots.txt").read_text()
    assert "Disallow: /order/" in robots and "/cart/" not in robots
    cart = read(mini, "/cart/")
    assert 'name="robots"' not in cart
    assert '<link rel="canonical" href="https://mini.example/cart/">' in cart
    assert '<meta name="robots" content="noindex">' in read(mini, "/order/")


def test_no_broken_internal_link_or_missing_asset(mini: Path) -> None:
    output = mini / "output"
    links = internal_links(output, "https://mini.example")
    assert "/static/" in "".join(links)  # assets are linked, and checked below
    missing = {
        path: sorted(pages)
        for path, pages in links.items()
        if not file_for(output, path).is_file() and not path.startswith("/api/")  # functions
    }
    assert missing == {}


def test_blog_and_feed(mini: Path) -> None:
    assert "Premier article" in read(mini, "/blog/")
    assert "Premier article" in read(mini, "/blog/premier/")
    feed = (mini / "output" / "blog" / "atom.xml").read_text()
    assert "https://mini.example/blog/premier/" in feed


def test_legal_pages_linked_from_every_page(mini: Path) -> None:
    for page in (mini / "output").rglob("*.html"):
        html = page.read_text()
        for url in ("/mentions-legales/", "/cgv/", "/retractation/", "/confidentialite/"):
            assert f'href="{url}"' in html, (page, url)


def test_rebuild_writes_nothing_new_and_removes_stale_pages(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    build(shop)
    again = build(shop)
    assert again.written == 0
    (shop / "content" / "products" / "vase.md").unlink()
    build(shop)
    assert not (shop / "output" / "products" / "vase").exists()


def test_merchant_text_is_escaped(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    path = shop / "content" / "products" / "vase.md"
    path.write_text(
        path.read_text().replace("title: Vase", 'title: "Vase <script>alert(1)</script>"')
    )
    build(shop)
    html = read(shop, "/products/vase/")
    assert "<script>alert(1)</script>" not in html
    assert "Vase &lt;script&gt;" in html


def test_english_shop(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    config = shop / "content" / "shop.yaml"
    config.write_text(config.read_text().replace("language: fr", "language: en"))
    build(shop)
    html = read(shop, "/products/bol/")
    assert (
        '<html lang="en"' in html
        and "€24.90" in html
        and "Sold out" in read(shop, "/products/tasse/")
    )


def test_rebuild_after_a_price_edit_touches_only_dependent_pages(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    build(shop)
    output = shop / "output"

    def snapshot() -> dict[str, tuple[bytes, int]]:
        return {
            p.relative_to(output).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in output.rglob("*")
            if p.is_file()
        }

    before = snapshot()
    again = build(shop)
    assert snapshot() == before  # a rebuild with no change rewrites nothing at all
    assert again.written == 0 and again.rendered == 0
    product = shop / "content" / "products" / "bol.md"
    product.write_text(product.read_text().replace("price: 24.90", "price: 26.50"))
    edited = build(shop)
    assert edited.rendered == 5  # the product, its category, its two tags, home
    after = snapshot()
    changed = {path for path in before if after.get(path) != before[path]}
    # The search index (generator/search.py): a price is no word, so only the result file
    # holding the product's price changes.
    index = {
        path for path in changed | (set(after) - set(before)) if path.startswith("search-index/")
    }
    assert len(index) == 1 and next(iter(index)).startswith("search-index/docs/")
    changed -= index
    # The product, the listings showing it (its category, its tags, home) and the catalogue.
    assert changed == {
        "products/bol/index.html",
        "category/ceramiques/index.html",
        "tag/gres/index.html",
        "tag/fait-main/index.html",
        "index.html",
        "catalog.json",
    }
    assert "26,50\xa0€" in after["products/bol/index.html"][0].decode()


def test_a_parallel_build_writes_the_same_site_as_a_serial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def files(output: Path) -> dict[str, bytes]:
        return {
            p.relative_to(output).as_posix(): p.read_bytes()
            for p in output.rglob("*")
            if p.is_file()
        }

    assert can_fork()  # else this test would compare two serial builds
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    for shop in (serial, parallel):
        shutil.copytree(MINI, shop)
    monkeypatch.setenv("COMPTOIR_BUILD_WORKERS", "1")
    alone = build(serial)
    monkeypatch.setenv("COMPTOIR_BUILD_WORKERS", "2")
    monkeypatch.setattr(pages, "PARALLEL_MIN", 1)  # the mini shop is far below the threshold
    cold = build(parallel)
    assert files(parallel / "output") == files(serial / "output")
    assert cold.written == alone.written > 0
    # What the workers rendered reached the parent: the page cache and the Markdown cache.
    again = build(parallel)
    assert again.written == 0
    rendered = MarkdownCache(parallel / ".cache" / "markdown.pickle").known
    assert rendered and rendered == MarkdownCache(serial / ".cache" / "markdown.pickle").known


def test_product_files_parsed_in_workers_give_what_one_process_gives(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    products = shop / "content" / "products"
    (products / "copie.md").write_text("---\ntitle: Copie\nsku: VASE\nprice: 3\ncategory: X\n---\n")
    (products / "faux.md").write_text("---\ntitle: Faux\nsku: F\nprice: 3,50\ncategory: X\n---\n")

    parsers: set[int] = set()

    def in_workers(parse: Any, files: Any) -> Any:
        def tagged(chunk: Any) -> list[tuple[int, Any]]:
            return [(os.getpid(), record) for record in parse(chunk)]

        results = forked_map(tagged, files, content_cache.dumps, content_cache.loads, minimum=1)
        parsers.update(pid for pid, _ in results)
        return [record for _, record in results]

    empty = content_cache.PickleProductCache(tmp_path / "empty.pickle")  # every file parsed
    alone, spread = load_content(shop), content_cache.load_cached_content(shop, empty, in_workers)
    assert parsers and os.getpid() not in parsers  # really parsed in other processes
    assert list(spread.problems) == list(alone.problems)
    assert len(list(alone.problems)) == 2  # the SKU used twice, the comma in a price
    assert spread.catalogue.products == alone.catalogue.products
    assert [p.digest for p in spread.catalogue] == [p.digest for p in alone.catalogue]


def test_a_damaged_cache_only_costs_a_cold_build(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    build(shop)
    output = shop / "output"
    before = {p: p.read_bytes() for p in output.rglob("*") if p.is_file()}
    damaged = [p for p in (shop / ".cache").rglob("*") if p.is_file()]
    assert {p.name for p in damaged} >= {
        "pages.json",
        "markdown.pickle",
        "content.pickle",
        "files.json",
    }
    for number, path in enumerate(damaged):
        path.write_bytes([b"\x00garbage", b"[]", b'"text"', b"{}"][number % 4])
    (output / "products" / "bol" / "index.html").write_text("edited by hand")
    build(shop)
    assert {p: p.read_bytes() for p in output.rglob("*") if p.is_file()} == before


def test_a_failed_build_publishes_no_new_catalogue(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    build(shop)
    catalog = (shop / "output" / "catalog.json").read_bytes()
    product = shop / "content" / "products" / "bol.md"
    product.write_text(product.read_text().replace("price: 24.90", "price: 26.50"))
    shutil.copytree(theme_dir(MINI), shop / "theme")
    template = shop / "theme" / "templates" / "product.html"
    text = template.read_text()
    assert "{{ product.title }}" in text
    template.write_text(text.replace("{{ product.title }}", "{{ product.title|no_such_filter }}"))
    with pytest.raises(Exception, match="no_such_filter"):
        build(shop)
    assert (shop / "output" / "catalog.json").read_bytes() == catalog
    assert not list((shop / "output").glob(".catalog-*"))


def test_a_page_left_half_written_is_written_again(tmp_path: Path) -> None:
    """New pages are written in place, not renamed: a build that stops halfway leaves a
    short file, and the next build must notice it, whatever its page cache says."""
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    build(shop)
    page = shop / "output" / "products" / "bol" / "index.html"
    whole = page.read_bytes()
    stat = page.stat()
    page.write_bytes(whole[: len(whole) // 2])
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the old mtime
    build(shop)
    assert page.read_bytes() == whole


def test_write_file_reports_the_file_as_written(tmp_path: Path) -> None:
    folders: set[str] = set()
    path = str(tmp_path / "a" / "b" / "index.html")
    first = pages.write_file(path, b"one", folders)
    stat = os.stat(path)
    assert first == pages.Written(True, 3, stat.st_mtime_ns)
    assert str(tmp_path / "a" / "b") in folders
    same = pages.write_file(path, b"one", folders)
    assert same == pages.Written(False, 3, stat.st_mtime_ns)
    inode = stat.st_ino
    changed = pages.write_file(path, b"three", folders)
    assert changed.changed and changed.size == 5
    assert Path(path).read_bytes() == b"three"
    assert os.stat(path).st_ino != inode  # replaced by a rename, never rewritten in place
    assert changed.mtime_ns == os.stat(path).st_mtime_ns
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["index.html"]
    # A build that did not make the folder finds the file there.
    again = pages.write_file(path, b"three", set())
    assert again == pages.Written(False, 5, changed.mtime_ns)
    assert pages.write_file(str(tmp_path / "a" / "new.html"), b"x", set()).changed


def test_stale_pages_go_whether_the_last_build_finished_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild removes what the last build wrote and this one does not, from the list
    the last build left. A build that stops halfway leaves no list, so pages it wrote
    for a product deleted since are found by sweeping the whole folder."""
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    build(shop)
    output = shop / "output"
    assert (
        "products/vase/index.html"
        in json.loads((shop / ".cache" / "files.json").read_text())["files"]
    )
    (shop / "content" / "products" / "vase.md").unlink()
    build(shop)
    assert not (output / "products" / "vase").exists()

    # A new product is written, then the build fails before it finishes…
    extra = shop / "content" / "products" / "extra.md"
    extra.write_text(
        (MINI / "content" / "products" / "vase.md")
        .read_text()
        .replace("vase", "extra")
        .replace("VASE", "EXTRA")
    )
    from generator import build as build_module

    def fail(*_: Any) -> None:
        raise RuntimeError("stopped halfway")

    monkeypatch.setattr(build_module, "_write_sitemap", fail)
    with pytest.raises(RuntimeError, match="stopped halfway"):
        build(shop)
    monkeypatch.undo()
    assert (output / "products" / "extra" / "index.html").exists()
    assert not (shop / ".cache" / "files.json").exists()
    # …and the product is deleted before the next build: its page must not survive.
    extra.unlink()
    build(shop)
    assert not (output / "products" / "extra").exists()
    assert (shop / ".cache" / "files.json").exists()
