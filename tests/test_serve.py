"""``comptoir serve``: the static site and /api on one local origin."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import free_port
from tests.test_checkout_flow import pay, wait_for

MINI = Path(__file__).parent / "fixtures" / "mini"


def test_serve_builds_and_serves_site_and_api(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "comptoir.cli",
            "serve",
            "--shop",
            str(shop),
            "--port",
            str(port),
            "--no-watch",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                home = httpx.get(base + "/", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert home.status_code == 200 and "Mini &amp; Co" in home.text
        assert home.headers["cache-control"] == "no-cache"
        product = httpx.get(base + "/products/bol/")
        assert product.status_code == 200
        css = next(
            line.split('href="')[1].split('"')[0]
            for line in product.text.split("<")
            if "stylesheet" in line
        )
        asset = httpx.get(base + css, headers={"accept-encoding": "gzip"})
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        missing = httpx.get(base + "/no/such/page/")
        assert missing.status_code == 404 and "<html" in missing.text
        api = httpx.post(base + "/api/nothing-here", json={})
        assert api.status_code == 404
        assert api.json()["error"]["code"] == "not_found"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def test_init_creates_a_shop_that_checks(tmp_path: Path) -> None:
    target = tmp_path / "new-shop"
    result = subprocess.run(
        [sys.executable, "-m", "comptoir.cli", "init", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (target / "content" / "shop.yaml").is_file()
    assert (target / "theme" / "templates").is_dir()
    ignored = (target / ".gitignore").read_text().split()
    assert "/output/" in ignored and "/.cache/" in ignored
    check = subprocess.run(
        [sys.executable, "-m", "comptoir.cli", "check", "--shop", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    again = subprocess.run(
        [sys.executable, "-m", "comptoir.cli", "init", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 1 and "already exists" in again.stderr


# -- `comptoir serve` with its watcher on: /api follows every rebuild ------------------------


class Serving:
    """``comptoir serve`` on a copy of the mini shop, watcher on; its output read line by line."""

    def __init__(self, shop: Path) -> None:
        self.shop = shop
        self.base = f"http://127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "comptoir.cli",
                "serve",
                "--shop",
                str(shop),
                "--port",
                self.base.rsplit(":", 1)[1],
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "COMPTOIR_STORE": str(shop / "var" / "store.sqlite3")},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for_line("Serving ")
        deadline = time.monotonic() + 30  # the line comes just before uvicorn listens
        while True:
            try:
                httpx.get(self.base + "/", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"serve did not listen: {self.seen}"
                time.sleep(0.05)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, needle: str, timeout: float = 90) -> str:
        """The next line of output holding ``needle`` (earlier lines are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no line with {needle!r}; output so far: {self.seen}"
            try:
                line = self.lines.get(timeout=min(left, 1))
            except queue.Empty:
                assert self.process.poll() is None, f"serve stopped: {self.seen}"
                continue
            self.seen.append(line)
            if needle in line:
                return line

    def edit(self, name: str, change: Callable[[str], str]) -> None:
        path = self.shop / "content" / "products" / name
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")

    def quote(self, sku: str) -> httpx.Response:
        body = {"items": [{"sku": sku, "quantity": 1}], "country": "FR"}
        return httpx.post(
            self.base + "/api/quote", json=body, headers={"origin": self.base}, timeout=10
        )

    def checkout(self, sku: str) -> httpx.Response:
        body = {"items": [{"sku": sku, "quantity": 1}], "country": "FR"}
        return httpx.post(
            self.base + "/api/checkout", json=body, headers={"origin": self.base}, timeout=30
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[Serving]:
    shop = tmp_path / "shop"
    shutil.copytree(MINI, shop)
    server = Serving(shop)
    try:
        yield server
    finally:
        server.stop()


def unit_price(response: httpx.Response) -> int:
    assert response.status_code == 200, response.text
    amount: int = response.json()["lines"][0]["unit_price"]["amount"]
    return amount


def test_a_price_edited_while_serving_is_what_the_cart_and_stripe_charge(
    serving: Serving,
) -> None:
    assert unit_price(serving.quote("BOL-BLEU")) == 2490
    serving.edit("bol.md", lambda text: text.replace("price: 24.90", "price: 27.50"))
    serving.wait_for_line("/api now uses this build")
    assert unit_price(serving.quote("BOL-BLEU")) == 2750
    page = httpx.get(serving.base + "/products/bol/", timeout=10).text
    assert "27,50\xa0€" in page and "24,90\xa0€" not in page
    started = serving.checkout("BOL-BLEU")
    assert started.status_code == 201, started.text
    payment_page = httpx.get(started.json()["url"], timeout=10).text
    assert '<td>Bol bleu × 1</td><td class="amount">27.50 EUR</td>' in payment_page


def test_a_product_added_while_serving_can_be_bought_and_a_removed_one_is_refused(
    serving: Serving,
) -> None:
    added = serving.shop / "content" / "products" / "pichet.md"
    added.write_text(
        "---\ntitle: Pichet\nsku: PICHET\nprice: 18.50\ncategory: Céramiques\nweight: 500\n"
        "---\nUn pichet.\n",
        encoding="utf-8",
    )
    serving.wait_for_line("/api now uses this build")
    assert unit_price(serving.quote("PICHET")) == 1850
    started = serving.checkout("PICHET")
    assert started.status_code == 201, started.text
    paid = pay(started.json()["url"])
    assert paid.status_code == 303
    session = started.json()["session_id"]
    order = wait_for(lambda: _order(serving, session))
    assert order["status"] == "paid" and order["lines"][0]["title"] == "Pichet"

    (serving.shop / "content" / "products" / "vase.md").unlink()
    serving.wait_for_line("/api now uses this build")
    refused = serving.quote("VASE")
    assert refused.status_code == 404
    assert refused.json()["error"] == {
        "code": "unknown_sku",
        "message": "This product is not for sale.",
        "sku": "VASE",
    }
    assert serving.checkout("VASE").status_code == 404


def _order(serving: Serving, session: str) -> dict[str, Any] | None:
    response = httpx.get(f"{serving.base}/api/orders/{session}", timeout=10)
    return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]


def test_a_failed_rebuild_keeps_the_last_good_shop_and_says_so(serving: Serving) -> None:
    serving.edit("bol.md", lambda text: text.replace("price: 24.90", "price: -3"))
    problem = serving.wait_for_line("content/products/bol.md:")
    assert "price" in problem
    serving.wait_for_line("keep the last good build")
    assert unit_price(serving.quote("BOL-BLEU")) == 2490
    serving.edit("bol.md", lambda text: text.replace("price: -3", "price: 26"))
    serving.wait_for_line("/api now uses this build")
    assert unit_price(serving.quote("BOL-BLEU")) == 2600


def test_serve_leaves_its_emulator_to_the_back_room_commands_while_it_runs(
    serving: Serving,
) -> None:
    from comptoir.backroom import EMULATOR_FILE, open_backroom

    announced = serving.shop / EMULATOR_FILE
    assert announced.stat().st_mode & 0o777 == 0o600
    backroom = open_backroom(serving.shop, {})
    assert backroom.payments is not None
    assert backroom.shop().config.name == "Mini & Co"
    serving.stop()
    assert not announced.exists()
    assert open_backroom(serving.shop, {}).payments is None
