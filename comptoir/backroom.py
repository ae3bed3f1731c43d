"""The back room wired for the ``comptoir`` command, from a shop's folder and environment.

The store is the one ``comptoir serve`` uses (``COMPTOIR_STORE``, by default the shop's
``var/comptoir.sqlite3``), the published shop the last build wrote. Payments: Stripe
with ``STRIPE_SECRET_KEY``; with no key, the TEST ONLY emulator of a ``comptoir serve``
running in the same folder, whose address and test keys it leaves in
``var/emulator.json`` while it runs (so nothing is copied by hand); else none.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from functions.backends import store_for
from functions.backroom import BackRoom
from functions.payments import StripePayments
from functions.settings import ConfigurationError, PublishedShopFile, from_environment
from shop.files import write_atomic
from shop.published import published_path

EMULATOR_FILE = Path("var") / "emulator.json"


def open_backroom(shop_root: Path, environ: Mapping[str, str] | None = None) -> BackRoom:
    """The back room of the shop in ``shop_root``; raises ConfigurationError saying what
    to fix (a missing published shop: run `comptoir build`)."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("COMPTOIR_PUBLISHED", str(published_path(shop_root)))
    payments_env = _payments_environment(shop_root, env)
    try:
        settings = from_environment(shop_root, {**env, **payments_env})
        has_payments = True
    except ConfigurationError:
        if env.get("STRIPE_SECRET_KEY", "").strip():
            raise  # a key that is there but wrong is the merchant's to fix
        # No key and no emulator running: what needs no payment still works.
        placeholder = {"STRIPE_SECRET_KEY": "sk_test_none", "STRIPE_WEBHOOK_SECRET": "whsec_none"}
        settings = from_environment(shop_root, {**env, **placeholder})
        has_payments = False
    shops = PublishedShopFile(settings.published_path)
    store = store_for(settings, local=True)
    return BackRoom(store, shops, StripePayments(settings) if has_payments else None)


def outbox_folder(shop_root: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The folder where the outbox mailer writes its ``.eml`` files (COMPTOIR_OUTBOX, by
    default the shop's ``var/outbox``), as the settings say."""
    env = dict(os.environ if environ is None else environ)
    placeholder = {"STRIPE_SECRET_KEY": "sk_test_none", "STRIPE_WEBHOOK_SECRET": "whsec_none"}
    return from_environment(shop_root, {**env, **placeholder}).outbox_dir


def _payments_environment(shop_root: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The running emulator's settings, when no Stripe key is configured."""
    if env.get("STRIPE_SECRET_KEY", "").strip():
        return {}
    try:
        found = json.loads((shop_root / EMULATOR_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    keys = ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET")
    if not isinstance(found, dict) or not all(isinstance(found.get(k), str) for k in keys):
        return {}
    return {k: found[k] for k in keys}


def announce_emulator(shop_root: Path, api_base: str, key: str, webhook_secret: str) -> Path:
    """Leave the emulator's address and test keys for the back-room commands (0600)."""
    path = shop_root / EMULATOR_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "STRIPE_SECRET_KEY": key,
        "STRIPE_API_BASE": api_base,
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
    }
    write_atomic(path, json.dumps(document).encode(), mode=0o600)
    return path
