"""The functions' settings, read once at start from the environment, and the published shop.

The functions know the shop only through its published shop (``shop.published``),
made by ``comptoir build``: never ``content/`` or ``theme/``.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from shop.config import WEBHOOK_SECRET_PREFIX
from shop.published import PublishedShop, PublishedShopError, load, published_path


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
    published_path: Path  # the published shop the functions load
    local_origin: str | None  # the address of `comptoir serve`, if that is where we run
    store: str  # COMPTOIR_STORE: a SQLite file's path, or dynamodb://TABLE
    outbox_dir: Path
    mail_url: str | None = field(repr=False)  # COMPTOIR_MAIL_URL; may hold a password
    stripe_key: Secret
    webhook_secret: Secret
    stripe_api_base: str | None  # None: Stripe itself; else the offline emulator's address
    session_minutes: int = 30
    # COMPTOIR_ALLOWED_ORIGINS: other sites whose pages may call /api (deploy previews)
    extra_origins: tuple[str, ...] = ()
    # The signing secrets of outgoing webhooks, by variable name (COMPTOIR_WEBHOOK_…):
    # the shop's ``webhooks`` settings names the variable, the environment holds the secret.
    webhook_secrets: Mapping[str, Secret] = field(default_factory=dict, repr=False)

    @property
    def store_path(self) -> Path:
        """The SQLite file of the embedded store (COMPTOIR_STORE as a path)."""
        return Path(self.store)

    def site_url(self, shop: PublishedShop, origin: str | None = None) -> str:
        """Where the success and cancel pages live: the allowed site the checkout came from
        (a deploy preview returns to itself), else the local server or the shop's address."""
        if origin is not None and origin in self.allowed_origins(shop):
            return origin
        return self.local_origin or shop.config.base_url

    def allowed_origins(self, shop: PublishedShop) -> AllowedOrigins:
        origins = {shop.config.base_url}
        if self.local_origin:
            origins |= {self.local_origin, self.local_origin.replace("127.0.0.1", "localhost")}
        return AllowedOrigins(frozenset(origins), self.extra_origins)


@dataclass(frozen=True)
class AllowedOrigins:
    """The sites whose pages may call /api: exact origins, and patterns whose first label
    may hold one ``*`` (``https://*--ma-boutique.netlify.app`` for Netlify's previews)."""

    exact: frozenset[str]
    patterns: tuple[str, ...] = ()

    def __contains__(self, origin: object) -> bool:
        if not isinstance(origin, str):
            return False
        return origin in self.exact or any(_matches(p, origin) for p in self.patterns)


def _matches(pattern: str, origin: str) -> bool:
    if "*" not in pattern:
        return origin == pattern
    head, tail = pattern.split("*", 1)
    if not (origin.startswith(head) and origin.endswith(tail)):
        return False
    middle = origin[len(head) : len(origin) - len(tail)]
    return (
        len(origin) >= len(head) + len(tail)
        and re.fullmatch(r"[a-z0-9-]{1,63}", middle) is not None
    )


_ORIGIN = re.compile(r"https?://(\*?[a-z0-9-]*)(\.[a-z0-9-]+)*(:[0-9]{1,5})?")


def _origins(text: str) -> tuple[str, ...]:
    """COMPTOIR_ALLOWED_ORIGINS: comma-separated origins, a ``*`` only in the first label."""
    origins = tuple(part.strip().rstrip("/").lower() for part in text.split(",") if part.strip())
    for origin in origins:
        if not _ORIGIN.fullmatch(origin) or origin.count("*") > 1:
            raise ConfigurationError(
                "COMPTOIR_ALLOWED_ORIGINS must list origins such as https://preview.example or "
                "https://*--ma-boutique.netlify.app (a * only at the start of the first label), "
                "separated by commas"
            )
    return origins


class ShopSource(Protocol):
    """Where the functions take the published shop from, request by request."""

    def current(self) -> PublishedShop: ...


class PublishedShopFile:
    """The published shop the functions price with: loaded at start, switched by ``reload``.

    ``current()`` is one attribute read, so a request that takes the shop once sees
    one whole published shop, the old or the new, never a mix.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._shop = load(path)
        except PublishedShopError as error:
            raise ConfigurationError(str(error)) from None

    def current(self) -> PublishedShop:
        return self._shop

    def reload(self) -> PublishedShop:
        """Switch to the file as it is now; raises PublishedShopError (keeping the last
        good shop) when it cannot be read."""
        with self._lock:
            shop = load(self.path)
            if shop.hash != self._shop.hash:
                self._shop = shop
            return self._shop


def from_environment(
    shop_root: Path,
    environ: Mapping[str, str] | None = None,
    *,
    local_origin: str | None = None,
) -> Settings:
    """Build the settings; ``local_origin`` is the address of ``comptoir serve``, if any.

    Environment: STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE,
    COMPTOIR_PUBLISHED (the published shop's file), COMPTOIR_STORE (a SQLite file, or dynamodb://TABLE),
    COMPTOIR_OUTBOX (folder of .eml files), COMPTOIR_STAGE (live|test: the key's mode),
    COMPTOIR_ALLOWED_ORIGINS, COMPTOIR_MAIL_URL (smtp://host:port; unset:
    the outbox folder; COMPTOIR_SMTP_URL is its deprecated former name),
    COMPTOIR_SESSION_MINUTES, COMPTOIR_WEBHOOK_* (outgoing webhooks' signing secrets).
    """
    env = dict(os.environ if environ is None else environ)
    key = _secret(env, "STRIPE_SECRET_KEY", _KEY)
    api_base = env.get("STRIPE_API_BASE", "").strip() or None
    if key.startswith(LIVE_PREFIXES) and api_base is not None:
        raise ConfigurationError(
            "a live Stripe key is configured together with STRIPE_API_BASE: "
            "the offline emulator never runs with a live key"
        )
    stage = env.get("COMPTOIR_STAGE", "").strip()
    if stage not in ("", "live", "test"):
        raise ConfigurationError("COMPTOIR_STAGE must be live or test")
    if key and stage and not key.startswith((f"sk_{stage}_", f"rk_{stage}_")):
        raise ConfigurationError(
            f"COMPTOIR_STAGE is {stage} but STRIPE_SECRET_KEY is not a {stage}-mode key: "
            "put the matching key in this stack's parameter"
        )
    if not key:
        if local_origin is None:
            raise ConfigurationError("STRIPE_SECRET_KEY is not set")
        key = "sk_test_emulator_" + secrets.token_hex(8)
        api_base = api_base or local_origin + "/_stripe"
    webhook = _secret(env, "STRIPE_WEBHOOK_SECRET", _WEBHOOK_SECRET) or (
        "whsec_emulator_" + secrets.token_hex(16) if api_base else ""
    )
    if not webhook:
        raise ConfigurationError("STRIPE_WEBHOOK_SECRET is not set")
    var = shop_root / "var"
    text = env.get("COMPTOIR_SESSION_MINUTES", "30").strip()
    minutes = int(text) if text.isdigit() else 0
    if not 30 <= minutes <= MAX_SESSION_MINUTES:
        raise ConfigurationError(
            f"COMPTOIR_SESSION_MINUTES must be a whole number from 30 to {MAX_SESSION_MINUTES}"
        )
    return Settings(
        published_path=Path(env.get("COMPTOIR_PUBLISHED") or published_path(shop_root)),
        local_origin=local_origin,
        store=env.get("COMPTOIR_STORE", "").strip() or str(var / "comptoir.sqlite3"),
        outbox_dir=Path(env.get("COMPTOIR_OUTBOX", var / "outbox")),
        mail_url=(env.get("COMPTOIR_MAIL_URL") or env.get("COMPTOIR_SMTP_URL", "")).strip() or None,
        stripe_key=Secret(key),
        webhook_secret=Secret(webhook),
        stripe_api_base=api_base,
        session_minutes=minutes,
        extra_origins=_origins(env.get("COMPTOIR_ALLOWED_ORIGINS", "")),
        webhook_secrets={
            name: Secret(value.strip())
            for name, value in env.items()
            if name.startswith(WEBHOOK_SECRET_PREFIX) and value.strip()
        },
    )


_KEY = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9_]{1,250}")
_WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9_]{1,250}")


def _secret(env: Mapping[str, str], name: str, shape: re.Pattern[str]) -> str:
    """A secret from the environment, without the spaces or line break a copy may add.

    A value that still does not look like one is refused, naming the variable only:
    the value itself never reaches a message or a log.
    """
    value = env.get(name, "").strip()
    if value and not shape.fullmatch(value):
        example = "sk_test_…" if name == "STRIPE_SECRET_KEY" else "whsec_…"
        raise ConfigurationError(
            f"{name} does not look like a Stripe secret ({example}): copy it again from "
            "Stripe's dashboard, whole and alone"
        )
    return value
