"""The functions' settings, read once at start from the environment and the shop's files."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from shop.catalog_file import load_catalog
from shop.catalogue import Catalogue
from shop.config import ShopConfig
from shop.content import load_config
from shop.problems import Problems


class ConfigurationError(Exception):
    """The functions cannot start: the message says which setting to fix."""


class Secret:
    """A secret value that never shows in a repr, a log line or a traceback."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


LIVE_PREFIXES = ("sk_live_", "rk_live_")
# Stripe's limit is 24 h; checkout adds a minute of slack and the request takes time.
MAX_SESSION_MINUTES = 24 * 60 - 2


@dataclass(frozen=True)
class Settings:
    shop_root: Path
    config: ShopConfig
    catalogue: Catalogue
    catalog_hash: str
    site_url: str  # where success/cancel pages live: the shop's base URL, or the local server
    allowed_origins: frozenset[str]
    store_path: Path
    outbox_dir: Path
    smtp_url: str | None = field(repr=False)  # may hold a password
    stripe_key: Secret
    webhook_secret: Secret
    stripe_api_base: str | None  # None: Stripe itself; else the offline emulator's address
    session_minutes: int = 30

    def shop_date(self, now: dt.datetime) -> dt.date:
        """Today in the shop's time zone: promo codes start and end at the shop's midnight."""
        return now.astimezone(ZoneInfo(self.config.timezone)).date()

    @property
    def uses_emulator(self) -> bool:
        return self.stripe_api_base is not None


def load_shop(shop_root: Path) -> tuple[ShopConfig, Catalogue, str]:
    """shop.yaml's rules and output/catalog.json's prices, as the functions trust them."""
    problems = Problems()
    config = load_config(shop_root, problems)
    if config is None or problems:
        raise ConfigurationError("content/shop.yaml has problems: run `comptoir check`")
    catalog_path = shop_root / "output" / "catalog.json"
    if not catalog_path.is_file():
        raise ConfigurationError("output/catalog.json is missing: run `comptoir build` first")
    document = json.loads(catalog_path.read_text(encoding="utf-8"))
    if document.get("currency") != config.currency:
        raise ConfigurationError("catalog.json and shop.yaml disagree on the currency: rebuild")
    return config, load_catalog(document), str(document["hash"])


def from_environment(
    shop_root: Path,
    environ: Mapping[str, str] | None = None,
    *,
    local_origin: str | None = None,
) -> Settings:
    """Build the settings; ``local_origin`` is the address of ``comptoir serve``, if any.

    Environment: STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE,
    COMPTOIR_STORE (SQLite file), COMPTOIR_OUTBOX (folder of .eml files),
    COMPTOIR_SMTP_URL (smtp://host:port), COMPTOIR_SESSION_MINUTES.
    """
    env = dict(os.environ if environ is None else environ)
    config, catalogue, catalog_hash = load_shop(shop_root)
    key = env.get("STRIPE_SECRET_KEY", "")
    api_base = env.get("STRIPE_API_BASE") or None
    if key.startswith(LIVE_PREFIXES) and api_base is not None:
        raise ConfigurationError(
            "a live Stripe key is configured together with STRIPE_API_BASE: "
            "the offline emulator never runs with a live key"
        )
    if not key:
        if local_origin is None:
            raise ConfigurationError("STRIPE_SECRET_KEY is not set")
        key = "sk_test_emulator_" + secrets.token_hex(8)
        api_base = api_base or local_origin + "/_stripe"
    webhook = env.get("STRIPE_WEBHOOK_SECRET") or (
        "whsec_emulator_" + secrets.token_hex(16) if api_base else ""
    )
    if not webhook:
        raise ConfigurationError("STRIPE_WEBHOOK_SECRET is not set")
    site_url = local_origin or config.base_url
    origins = {config.base_url}
    if local_origin:
        origins |= {local_origin, local_origin.replace("127.0.0.1", "localhost")}
    var = shop_root / "var"
    text = env.get("COMPTOIR_SESSION_MINUTES", "30")
    minutes = int(text) if text.isdigit() else 0
    if not 30 <= minutes <= MAX_SESSION_MINUTES:
        raise ConfigurationError(
            f"COMPTOIR_SESSION_MINUTES must be a whole number from 30 to {MAX_SESSION_MINUTES}"
        )
    return Settings(
        shop_root=shop_root,
        config=config,
        catalogue=catalogue,
        catalog_hash=catalog_hash,
        site_url=site_url,
        allowed_origins=frozenset(origins),
        store_path=Path(env.get("COMPTOIR_STORE", var / "comptoir.sqlite3")),
        outbox_dir=Path(env.get("COMPTOIR_OUTBOX", var / "outbox")),
        smtp_url=env.get("COMPTOIR_SMTP_URL") or None,
        stripe_key=Secret(key),
        webhook_secret=Secret(webhook),
        stripe_api_base=api_base,
        session_minutes=minutes,
    )
