"""A built fixture shop and the functions' app around it, for API tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from comptoir.local import LocalStack, local_stack
from comptoir.serve import create_app
from functions.app import Clock, utc_now
from functions.settings import Settings, from_environment
from generator.build import build
from tests.servers import free_port, serve_app

MINI = Path(__file__).parent / "fixtures" / "mini"
TEST_KEY = "sk_test_emulator_0000000000"
WEBHOOK_SECRET = "whsec_test_0000000000000000"

PROMOS = """
discounts:
  - {code: BIENVENUE10, kind: percent, value: "10"}
  - {code: UNEFOIS, kind: amount, value: "3", usage_limit: 1}
"""


def built_shop(root: Path) -> Path:
    """A copy of the mini shop with a promo code, built."""
    shop = root / "shop"
    shutil.copytree(MINI, shop)
    config = shop / "content" / "shop.yaml"
    config.write_text(config.read_text() + PROMOS)
    build(shop)
    return shop


def api_settings(shop: Path, stripe_base: str, site: str = "http://127.0.0.1:9") -> Settings:
    return from_environment(
        shop,
        {
            "STRIPE_SECRET_KEY": TEST_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": stripe_base,
            "COMPTOIR_STORE": str(shop / "var" / "store.sqlite3"),
            "COMPTOIR_OUTBOX": str(shop / "var" / "outbox"),
        },
        local_origin=site,
    )


@contextmanager
def running_stack(
    shop: Path, var: Path, environ: dict[str, str] | None = None, clock: Clock = utc_now
) -> Iterator[tuple[str, LocalStack]]:
    """The whole local stack (static site, /api, the Stripe emulator) on one free port,
    with its store and outbox under ``var``; yields (origin, stack)."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {"COMPTOIR_STORE": str(var / "store.sqlite3"), "COMPTOIR_OUTBOX": str(var / "outbox")}
    stack = local_stack(shop, origin, {**env, **(environ or {})}, clock)
    stack.start()
    try:
        with serve_app(create_app(shop / "output", stack.api, stack.mounts), port=port):
            yield origin, stack
    finally:
        stack.close()
