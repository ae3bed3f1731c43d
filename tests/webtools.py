"""Helpers for browser, accessibility, HTML validity and Lighthouse tests.

Everything here runs locally: Debian's chromium (driven by playwright), and the npm tools that
`bash tests/setup.sh` installs into ``tests/node/node_modules``. A missing tool is a test failure
with the command that fixes it, never a skip; with ``CI`` set it is a hard error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, Request

NODE_DIR = Path(__file__).resolve().parent / "node"
NODE_MODULES = NODE_DIR / "node_modules"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
LIGHTHOUSE = NODE_MODULES / ".bin" / "lighthouse"

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-gpu",
)
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")
LIGHTHOUSE_CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
LIGHTHOUSE_CHROME_FLAGS = "--headless=new --no-sandbox " + " ".join(CHROMIUM_ARGS)
HTML_SUFFIXES = (".html", ".htm", ".xhtml")

#: Content types the standard library may not know or gets wrong (charset is added for text).
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".woff2": "font/woff2",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".webmanifest": "application/manifest+json",
}

#: Every Lighthouse result of this test session, ``(url, scores)``; conftest prints them at the end.
LIGHTHOUSE_RESULTS: list[tuple[str, dict[str, float]]] = []


def missing_tool(what: str) -> NoReturn:
    """Fail because a test tool is not installed: an error in CI, a test failure elsewhere."""
    message = f"{what} is missing: run `bash tests/setup.sh` (installs chromium, Java, npm tools)"
    if os.environ.get("CI"):
        raise RuntimeError(message)
    pytest.fail(message, pytrace=False)


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        missing_tool(f"{what} ({path})")
    return path


def chromium_executable() -> str:
    """Path of Debian's chromium; never skips when it is absent."""
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    missing_tool("Debian's chromium (" + " or ".join(CHROMIUM_CANDIDATES) + ")")


def launch_browser(playwright: Playwright) -> Browser:
    """Launch headless Debian chromium with flags quiet on a closed network."""
    return playwright.chromium.launch(
        executable_path=chromium_executable(), headless=True, args=list(CHROMIUM_ARGS)
    )


def run_axe(page: Page) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.1 A/AA and best practices) on the page; return its violations."""
    page.add_script_tag(path=str(_require(AXE_JS, "axe-core")))
    result: dict[str, Any] = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        list(AXE_TAGS),
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        missing_tool("Java (default-jre-headless)")
    return java


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _has_html(path: Path) -> bool:
    if path.is_file():
        return path.suffix in HTML_SUFFIXES
    return any(f.suffix in HTML_SUFFIXES for f in path.rglob("*") if f.is_file())


def run_vnu(paths: Iterable[str | Path]) -> list[str]:
    """Check HTML files or folders with the Nu validator; return ``file:line: message`` errors."""
    targets = [Path(p).resolve() for p in paths]
    for target in targets:
        if not target.exists():
            raise FileNotFoundError(target)
    if not any(_has_html(t) for t in targets):
        raise ValueError(f"no HTML file to validate in {[str(t) for t in targets]}")
    jar = _require(VNU_JAR, "the Nu validator (vnu-jar)")
    command = [_java(), "-jar", str(jar), "--skip-non-html", "--errors-only", "--format", "json"]
    done = subprocess.run(
        [*command, "--stdout", *map(str, targets)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"vnu exited with {done.returncode}: {done.stderr or done.stdout}")
    errors = []
    for message in json.loads(done.stdout)["messages"]:
        path = Path(unquote(urlsplit(message.get("url", "")).path))
        line = message.get("firstLine", message.get("lastLine", 0))
        errors.append(f"{_display(path)}:{line}: {message['message']}")
    if done.returncode == 1 and not errors:
        raise RuntimeError(f"vnu failed without a message: {done.stderr}")
    return errors


# url -> the weighted audits that did not pass on the last Lighthouse run of that url.
LIGHTHOUSE_FAILED_AUDITS: dict[str, set[str]] = {}


def _lighthouse_once(url: str, chromium: str, lighthouse: Path) -> dict[str, float]:
    done = subprocess.run(
        [
            str(lighthouse),
            url,
            "--only-categories=" + ",".join(LIGHTHOUSE_CATEGORIES),
            f"--chrome-flags={LIGHTHOUSE_CHROME_FLAGS}",
            "--output=json",
            "--quiet",
        ],
        env={**os.environ, "CHROME_PATH": chromium},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"lighthouse exited with {done.returncode} on {url}: {done.stderr}")
    report = json.loads(done.stdout)
    if report.get("runtimeError"):
        raise RuntimeError(f"lighthouse could not audit {url}: {report['runtimeError']}")
    scores: dict[str, float] = {}
    for name in LIGHTHOUSE_CATEGORIES:
        score = report["categories"][name]["score"]
        if score is None:
            raise RuntimeError(
                f"lighthouse gave no {name} score for {url}: {report['runWarnings']}"
            )
        scores[name] = float(score)
    LIGHTHOUSE_FAILED_AUDITS[url] = {
        ref["id"]
        for category in report["categories"].values()
        for ref in category["auditRefs"]
        if ref.get("weight")
        and report["audits"][ref["id"]].get("score") is not None
        and report["audits"][ref["id"]]["score"] < 1
    }
    return scores


def run_lighthouse(url: str, runs: int = 3) -> dict[str, float]:
    """Lighthouse (mobile) scores in 0..1: best performance of ``runs``, the rest from the last."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    chromium = chromium_executable()
    lighthouse = _require(LIGHTHOUSE, "lighthouse")
    results = [_lighthouse_once(url, chromium, lighthouse) for _ in range(runs)]
    scores = {**results[-1], "performance": max(r["performance"] for r in results)}
    LIGHTHOUSE_RESULTS.append((url, scores))
    print(f"Lighthouse {url}: " + ", ".join(f"{k} {v:.2f}" for k, v in scores.items()))
    return scores


class _StaticHandler(SimpleHTTPRequestHandler):
    """A quiet static file handler that answers unknown paths with the site's ``404.html``."""

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        kind = CONTENT_TYPES.get(Path(path).suffix.lower()) or super().guess_type(path)
        if kind.startswith("text/") or kind in ("application/json", "application/xml"):
            return f"{kind}; charset=utf-8"
        return kind

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


@contextmanager
def serve_directory(path: str | Path) -> Iterator[str]:
    """Serve a static folder on 127.0.0.1 (a free port); yield its base URL (no trailing slash)."""
    root = Path(path).resolve()
    if not root.is_dir():
        raise NotADirectoryError(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_StaticHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name=f"serve {root}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def collect_requests(page: Page) -> list[str]:
    """Record the URL of every request the page makes from now on (the list fills as it goes)."""
    urls: list[str] = []

    def record(request: Request) -> None:
        urls.append(request.url)

    page.on("request", record)
    return urls


def other_origins(urls: Iterable[str], base_url: str) -> list[str]:
    """The URLs (``data:`` and ``blob:`` aside) whose origin is not ``base_url``'s."""
    base = urlsplit(base_url)
    foreign = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("data", "blob") and (parts.scheme, parts.netloc) != (
            base.scheme,
            base.netloc,
        ):
            foreign.append(url)
    return foreign
