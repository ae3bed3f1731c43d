"""The test tooling itself: axe, the Nu validator, the browser and Lighthouse on a tiny site.

A good page must come out clean and a bad one must not, so that a clean result on the real
shop means something.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from playwright.sync_api import Page

from tests.webtools import (
    collect_requests,
    other_origins,
    run_axe,
    run_lighthouse,
    run_vnu,
    serve_directory,
)

GOOD_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tiny tea shop</title>
<meta name="description" content="A tiny page that every test tool must find clean.">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header><a href="/">Tiny tea shop</a></header>
<main>
<h1>Green tea</h1>
<img src="/tea.svg" alt="A cup of green tea" width="64" height="64">
<p>Sencha from Shizuoka, 50 g.</p>
<form action="/" method="get">
<label for="quantity">Quantity</label>
<input id="quantity" name="quantity" type="number" min="1" value="1">
<button type="submit">Add to cart</button>
</form>
</main>
<footer><p>Tiny tea shop, Lyon</p></footer>
</body>
</html>
"""

# An unlabeled input and an image without alt (axe), a stray end tag and the missing alt (vnu).
BAD_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Broken tea shop</title>
</head>
<body>
<main>
<h1>Black tea</h1>
<img src="/tea.svg" width="64" height="64">
<p>Assam, 100 g.</span></p>
<input type="text" name="quantity">
</main>
</body>
</html>
"""

NOT_FOUND_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Not found</title></head>
<body><main><h1>Page not found</h1></main></body>
</html>
"""

TEA_SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
<rect width="64" height="64" fill="#2f6b3a"/><circle cx="32" cy="36" r="18" fill="#f4f1e8"/>
</svg>
"""

STYLE_CSS = "body { font: 1rem/1.5 system-ui, sans-serif; margin: 1rem; color: #222; }\n"


@pytest.fixture(scope="module")
def tiny_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hand-written static site: a good page, a bad page, assets and a 404 page."""
    root = tmp_path_factory.mktemp("tiny-site")
    (root / "index.html").write_text(GOOD_PAGE, encoding="utf-8")
    (root / "bad.html").write_text(BAD_PAGE, encoding="utf-8")
    (root / "404.html").write_text(NOT_FOUND_PAGE, encoding="utf-8")
    (root / "tea.svg").write_text(TEA_SVG, encoding="utf-8")
    (root / "favicon.svg").write_text(TEA_SVG, encoding="utf-8")
    (root / "style.css").write_text(STYLE_CSS, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def tiny_url(tiny_site: Path) -> Iterator[str]:
    with serve_directory(tiny_site) as base:
        yield base


def test_serve_directory_serves_index_assets_and_404(tiny_url: str) -> None:
    with urlopen(tiny_url + "/") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert b"<h1>Green tea</h1>" in response.read()
    with urlopen(tiny_url + "/tea.svg") as response:
        assert response.headers["Content-Type"] == "image/svg+xml"
    with pytest.raises(HTTPError) as missing:
        urlopen(tiny_url + "/no/such/page")
    error = missing.value
    try:
        assert error.code == 404
        assert b"Page not found" in error.read()
    finally:
        error.close()


def test_other_origins() -> None:
    base = "http://127.0.0.1:8000"
    urls = [
        base + "/",
        base + "/static/app.js",
        "data:image/png;base64,AAAA",
        "http://127.0.0.1:9000/",
        "https://fonts.example/font.woff2",
    ]
    assert other_origins(urls, base) == [
        "http://127.0.0.1:9000/",
        "https://fonts.example/font.woff2",
    ]


@pytest.mark.browser
def test_axe_finds_violations_on_the_bad_page_only(page: Page, tiny_url: str) -> None:
    page.goto(tiny_url + "/")
    assert run_axe(page) == []
    page.goto(tiny_url + "/bad.html")
    found = {violation["id"] for violation in run_axe(page)}
    assert {"label", "image-alt"} <= found, found


@pytest.mark.slow
def test_vnu_reports_errors_on_the_bad_page_only(tiny_site: Path) -> None:
    assert run_vnu([tiny_site / "index.html", tiny_site / "404.html"]) == []
    errors = run_vnu([tiny_site])
    assert errors, "the Nu validator found nothing wrong in bad.html"
    assert all(error.split(":")[0].endswith("bad.html") for error in errors), errors
    assert any(":11: Stray end tag" in error for error in errors), errors
    assert any("alt" in error for error in errors), errors


def test_vnu_refuses_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_vnu([tmp_path / "nothing.html"])
    with pytest.raises(ValueError, match="no HTML file"):
        run_vnu([tmp_path])


@pytest.mark.browser
def test_the_browser_loads_the_page_and_requests_stay_local(page: Page, tiny_url: str) -> None:
    requests = collect_requests(page)
    page.goto(tiny_url + "/")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Green tea"
    assert page.evaluate("document.querySelector('img').naturalWidth") == 64
    assert {tiny_url + "/", tiny_url + "/tea.svg", tiny_url + "/style.css"} <= set(requests)
    assert all(url.startswith("http://127.0.0.1:") for url in requests), requests
    assert other_origins(requests, tiny_url) == []


@pytest.mark.browser
@pytest.mark.slow
def test_lighthouse_scores_the_good_page(tiny_url: str) -> None:
    scores = run_lighthouse(tiny_url + "/", runs=1)
    print("Lighthouse on the tiny page:", scores)
    assert set(scores) == {"performance", "accessibility", "best-practices", "seo"}
    assert scores["accessibility"] == scores["best-practices"] == scores["seo"] == 1.0, scores
    assert scores["performance"] >= 0.9, scores
