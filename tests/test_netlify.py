"""netlify.toml and the site it serves: build settings, security headers, caching, the /api
proxy that `comptoir build` writes into output/_redirects, and a CSP the pages really satisfy
(every page of the example read for what the policy forbids; five pages loaded in chromium
with the headers applied, with no violation and no console error).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from comptoir.local import local_stack
from comptoir.serve import create_app
from generator.build import build
from tests.netlify_rules import NetlifyHeaders, csp_directives, headers_for, netlify_config
from tests.servers import free_port, serve_app

ROOT = Path(__file__).resolve().parent.parent
MINI = Path(__file__).parent / "fixtures" / "mini"
ORIGIN = "https://abc123.lambda-url.eu-west-3.on.aws"
SECURITY_HEADERS = (
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Permissions-Policy",
)
IMMUTABLE = "public, max-age=31536000, immutable"
FINGERPRINTED = re.compile(r".*[.-][0-9a-f]{10}([.-].*)?\.[a-z0-9]+")


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return netlify_config()


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The example shop built with the proxy: (output folder, published shop)."""
    where = tmp_path_factory.mktemp("netlify")
    output, published = where / "output", where / "published" / "shop.json"
    build(ROOT, output, published=published, api_origin=ORIGIN)
    return output, published


# --- netlify.toml ------------------------------------------------------------------------------


def test_build_command_publish_folder_and_python(config: dict[str, Any]) -> None:
    assert config["build"]["publish"] == "output"
    assert config["build"]["command"].endswith("comptoir build")
    production = config["context"]["production"]["command"]
    assert production.endswith("comptoir build --production")
    ignore = config["context"]["production"]["ignore"]  # tests/test_deploy_workflow.py
    assert ignore == "bash netlify/ignore-build.sh" and (ROOT / ignore.split()[1]).is_file()
    version = config["build"]["environment"]["PYTHON_VERSION"]
    assert tuple(map(int, version.split("."))) >= (3, 11)  # requires-python


def test_the_build_cache_plugin_is_in_the_repository(config: dict[str, Any]) -> None:
    (plugin,) = config["plugins"]
    folder = ROOT / plugin["package"].lstrip("/")
    assert (folder / "manifest.yml").read_text().startswith("name: comptoir-build-cache")
    code = (folder / "index.js").read_text()
    assert "onPreBuild" in code and "onPostBuild" in code
    assert '".cache", "output"' in code
    node = shutil.which("node")
    assert node, "node is missing (bash tests/setup.sh)"
    done = subprocess.run([node, "--check", str(folder / "index.js")], capture_output=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("path", ["/", "/products/sencha/", "/cart/", "/catalog.json"])
def test_pages_get_security_headers_and_short_caching(config: dict[str, Any], path: str) -> None:
    headers = headers_for(config, path)
    assert set(SECURITY_HEADERS) <= set(headers)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert int(re.search(r"max-age=(\d+)", headers["Strict-Transport-Security"])[1]) >= 31536000  # type: ignore[index]
    assert headers["Referrer-Policy"] in ("strict-origin-when-cross-origin", "same-origin")
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers["Cache-Control"] == "public, max-age=0, must-revalidate"


def test_the_order_page_gives_its_address_to_no_one(config: dict[str, Any]) -> None:
    """/order/?session_id=… is the key to an order and its delivery address."""
    headers = headers_for(config, "/order/")
    assert headers["Referrer-Policy"] == "no-referrer"
    assert set(SECURITY_HEADERS) <= set(headers)


def test_the_csp_allows_only_the_site_itself(config: dict[str, Any]) -> None:
    policy = csp_directives(headers_for(config, "/")["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    for directive, sources in policy.items():
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "https:", "http:"} & set(
            sources
        ), directive


def test_search_has_the_site_policy_and_its_index_is_revalidated(config: dict[str, Any]) -> None:
    """The search page and its index (/search-index/, plain JSON read by js/search.js) get the
    policy of every page: no WebAssembly, no exception. The index's files keep their names
    from build to build, so browsers check them again like pages."""
    site = headers_for(config, "/")
    for path in ("/search/", "/search-index/meta.json", "/search-index/words/th.json"):
        headers = headers_for(config, path)
        assert headers["Content-Security-Policy"] == site["Content-Security-Policy"], path
        assert headers["Cache-Control"] == "public, max-age=0, must-revalidate", path
    assert "wasm" not in site["Content-Security-Policy"]


def test_fingerprinted_files_are_immutable(
    config: dict[str, Any], example: tuple[Path, Path]
) -> None:
    output, _ = example
    files = [f for folder in ("static", "images") for f in (output / folder).rglob("*")]
    files = [f for f in files if f.is_file()]
    assert len(files) > 20
    for file in files:
        assert FINGERPRINTED.fullmatch(file.name), f"{file.name} is not fingerprinted"
        path = "/" + file.relative_to(output).as_posix()
        assert headers_for(config, path)["Cache-Control"] == IMMUTABLE, path
        assert "Content-Security-Policy" in headers_for(config, path)


# --- output/_redirects -------------------------------------------------------------------------


def test_build_writes_the_api_rewrite(example: tuple[Path, Path]) -> None:
    output, _ = example
    rules = [
        line.split()
        for line in (output / "_redirects").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules == [["/api/*", f"{ORIGIN}/api/:splat", "200"]]


def comptoir(shop: Path, *args: str, origin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COMPTOIR_API_ORIGIN"}
    env["PYTHONPATH"] = str(ROOT)
    if origin is not None:
        env["COMPTOIR_API_ORIGIN"] = origin
    return subprocess.run(
        [sys.executable, "-m", "comptoir.cli", "build", "--shop", str(shop), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_comptoir_build_and_the_api_origin(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    redirects = shop / "output" / "_redirects"

    done = comptoir(shop)
    assert done.returncode == 0, done.stderr
    assert not redirects.exists() and "COMPTOIR_API_ORIGIN" not in done.stdout + done.stderr

    done = comptoir(shop, origin=ORIGIN + "/")
    assert done.returncode == 0, done.stderr
    assert f"/api/*  {ORIGIN}/api/:splat  200\n" in redirects.read_text()

    done = comptoir(shop)  # the origin gone: the proxy goes with it
    assert done.returncode == 0, done.stderr
    assert not redirects.exists()

    for bad in ("http://abc.lambda-url.eu-west-3.on.aws", f"{ORIGIN}/api", "abc.on.aws"):
        done = comptoir(shop, origin=bad)
        assert done.returncode == 1
        assert done.stderr.startswith("COMPTOIR_API_ORIGIN must be the functions' https origin")
    assert not redirects.exists()


def test_production_build_refuses_to_publish_without_the_functions(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    # A shop of its own (a production build refuses the fixture's .example identity).
    config = shop / "content" / "shop.yaml"
    config.write_text(config.read_text().replace("mini.example", "mini-poterie.fr"))
    done = comptoir(shop, "--production")
    assert done.returncode == 1
    assert done.stderr.startswith("COMPTOIR_API_ORIGIN is not set")
    assert not (shop / "output").exists()
    done = comptoir(shop, "--production", origin=ORIGIN)
    assert done.returncode == 0, done.stderr
    assert (shop / "output" / "_redirects").is_file()


# --- the CSP against the pages -----------------------------------------------------------------

DATA_SCRIPTS = {"application/json", "application/ld+json"}
URL_ATTRIBUTES = {"src", "href", "action", "poster", "data", "formaction"}


class _PolicyReader(HTMLParser):
    """Collects what a page does that `default-src 'self'` without 'unsafe-inline' forbids."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where
        self.found: list[str] = []
        self._in_script: str | None = None
        self.checked = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        for name, value in values.items():
            if value.strip().lower().startswith("javascript:"):
                self.found.append(f"{self.where}: javascript: URL in <{tag} {name}>")
            if name.startswith("on"):
                self.found.append(f"{self.where}: inline handler {name} on <{tag}>")
            if name == "style":
                self.found.append(f"{self.where}: style attribute on <{tag}>")
        if tag == "style":
            self.found.append(f"{self.where}: <style> element")
        if tag in ("iframe", "object", "embed", "frame", "base"):
            self.found.append(f"{self.where}: <{tag}>")
        if tag == "script":
            kind = values.get("type", "").lower()
            if "src" not in values and kind not in DATA_SCRIPTS:
                self.found.append(f"{self.where}: inline <script>")
        links_only = tag == "link" and values.get("rel", "") in ("canonical", "alternate")
        if tag == "a" or links_only:
            return  # navigation, not a resource of the page
        urls = [values[n] for n in URL_ATTRIBUTES if n in values]
        for srcset in (values.get("srcset"), values.get("imagesrcset")):
            if srcset:
                urls += [item.split()[0] for item in srcset.split(",") if item.strip()]
        for url in urls:
            self.checked += 1
            parts = urlsplit(url)
            if parts.scheme or parts.netloc:
                self.found.append(f"{self.where}: <{tag}> loads {url} from another origin")


def test_every_page_satisfies_the_csp(example: tuple[Path, Path]) -> None:
    output, _ = example
    pages = sorted(output.rglob("*.html"))
    assert len(pages) > 40
    found: list[str] = []
    checked = 0
    for page in pages:
        reader = _PolicyReader(str(page.relative_to(output)))
        reader.feed(page.read_text(encoding="utf-8"))
        found += reader.found
        checked += reader.checked
    for sheet in (output / "static").rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", sheet.read_text(encoding="utf-8")):
            parts = urlsplit(url)
            if parts.scheme or parts.netloc:
                found.append(f"{sheet.name}: url({url})")
        if "@import" in sheet.read_text(encoding="utf-8"):
            found.append(f"{sheet.name}: @import")
    assert checked > len(pages) * 3  # scripts, the stylesheet, the icon, images on each page
    assert found == []


# --- in the browser ----------------------------------------------------------------------------

WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
});
"""


@pytest.fixture(scope="module")
def site(
    example: tuple[Path, Path], config: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The built example with netlify.toml's headers, /api on the same origin (as Netlify's
    proxy makes it), payments on the offline Stripe emulator."""
    output, published = example
    var = tmp_path_factory.mktemp("netlify-var")
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    environ = {
        "COMPTOIR_PUBLISHED": str(published),
        "COMPTOIR_STORE": str(var / "store.sqlite3"),
        "COMPTOIR_OUTBOX": str(var / "outbox"),
    }
    stack = local_stack(ROOT, origin, environ)
    stack.start()
    try:
        app = NetlifyHeaders(create_app(output, stack.api, stack.mounts), config)
        with serve_app(app, port=port):
            yield origin
    finally:
        stack.close()


def test_the_site_loads_under_its_csp_without_a_violation(
    page: Any, site: str, example: tuple[Path, Path], config: dict[str, Any]
) -> None:
    output, _ = example
    catalog = json.loads((output / "catalog.json").read_text())
    product = next(p for p in catalog["products"] if (p["items"][0]["stock"] or 1) > 0)
    article = next(p.parent.name for p in (output / "blog").glob("*/index.html"))
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.add_init_script(WATCH_VIOLATIONS)

    def visit(path: str) -> None:
        response = page.goto(site + path)
        assert response.status == 200, path
        policy = headers_for(config, path.partition("?")[0])["Content-Security-Policy"]
        assert response.headers["content-security-policy"] == policy
        page.wait_for_load_state("networkidle")
        problems.extend(f"{path}: {v}" for v in page.evaluate("window.__violations"))

    visit("/")
    visit(product["url"])
    page.locator("form[data-add-to-cart] [type=submit]").first.click()
    page.wait_for_function("document.querySelector('[data-cart-count]').textContent.trim() === '1'")
    problems.extend(f"{product['url']}: {v}" for v in page.evaluate("window.__violations"))
    visit("/cart/")
    page.wait_for_selector("[data-total]:not(:empty)")  # priced by /api/quote, same origin
    problems.extend(f"/cart/: {v}" for v in page.evaluate("window.__violations"))
    visit(f"/blog/{article}/")
    visit("/mentions-legales/")
    visit("/search/?q=th%C3%A9")  # js/search.js and the index files it fetches
    page.wait_for_selector("[data-search-results] li")
    problems.extend(f"/search/: {v}" for v in page.evaluate("window.__violations"))
    assert problems == []

    # The watch works: something the policy forbids is reported.
    page.evaluate(
        "() => { const i = new Image(); i.src = 'https://elsewhere.invalid/x.png';"
        " document.body.append(i); }"
    )
    page.wait_for_function("window.__violations.length > 0")
    assert "img-src" in page.evaluate("window.__violations")[0]
