"""``comptoir serve``: the static site and /api on one local origin."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.servers import free_port

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
