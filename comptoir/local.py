"""The embedded defaults wired together for ``comptoir serve`` (and the end-to-end tests):
the SQLite store (or DynamoDB with ``COMPTOIR_STORE=dynamodb://TABLE``), the ``.eml``
outbox (or SMTP), and — with no Stripe key — the TEST ONLY offline Stripe emulator
mounted at ``/_stripe`` on the same origin.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from starlette.types import ASGIApp

from functions.app import Clock, create_app, utc_now
from functions.backends import mailer_for, store_for
from functions.mailer import Mailer
from functions.outbox import deliver_due
from functions.outgoing_webhooks import deliver_webhooks
from functions.settings import PublishedShopFile, Settings, from_environment
from functions.store import Store
from shop.published import PublishedShop
from stripe_emulator import EmulatorState, WebhookEndpoint, create_emulator_app

log = logging.getLogger("comptoir.local")
MAIL_INTERVAL = 30.0  # seconds between two passes over the outbox


@dataclass
class LocalStack:
    settings: Settings
    shops: PublishedShopFile  # the published shop /api prices with; reload() after a build
    store: Store
    mailer: Mailer
    api: ASGIApp
    emulator: EmulatorState | None
    mounts: dict[str, ASGIApp] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        if self.emulator is not None:
            self.emulator.start()
        threading.Thread(target=self._mail_loop, name="comptoir-mail", daemon=True).start()

    def _mail_loop(self) -> None:
        while not self._stop.wait(MAIL_INTERVAL):
            try:
                deliver_due(self.store, self.mailer, utc_now(), shop=self.shops.current())
            except Exception:  # the outbox keeps the mail for the next pass
                log.exception("mail delivery pass failed")
            try:
                deliver_webhooks(
                    self.store, self.shops.current(), utc_now(), self.settings.webhook_secrets
                )
            except Exception:  # the queue keeps them for the next pass
                log.exception("webhook delivery pass failed")

    def reload(self) -> PublishedShop:
        """Switch /api to the published shop the last build wrote (atomically: a request
        sees the old one or the new one). Raises PublishedShopError, keeping the old one,
        when the file cannot be read."""
        return self.shops.reload()

    def close(self) -> None:
        self._stop.set()
        if self.emulator is not None:
            self.emulator.close()
        self.store.close()


def local_stack(
    shop_root: Path,
    origin: str,
    environ: Mapping[str, str] | None = None,
    clock: Clock = utc_now,
) -> LocalStack:
    """Everything ``/api`` needs on one machine; ``origin`` is the server's own address
    (``clock``: the functions' time, which tests move to let stock holds lapse)."""
    env = dict(os.environ if environ is None else environ)
    hosts_emulator = not env.get("STRIPE_SECRET_KEY") and not env.get("STRIPE_API_BASE")
    settings = from_environment(shop_root, env, local_origin=origin)
    shops = PublishedShopFile(settings.published_path)
    # Locally a missing DynamoDB table is created (moto, DynamoDB Local); deployed, never.
    store = store_for(settings, local=True)
    mailer = mailer_for(settings)
    emulator = None
    mounts: dict[str, ASGIApp] = {}
    if hosts_emulator:
        emulator = EmulatorState(
            api_keys=[settings.stripe_key.reveal()],
            webhook_endpoints=[
                WebhookEndpoint(origin + "/api/stripe/webhook", settings.webhook_secret.reveal())
            ],
            public_base_url=origin + "/_stripe",
            terms_of_service_url=origin + shops.current().pages.terms_of_sale,
        )
        mounts["/_stripe"] = create_emulator_app(emulator)
    api = create_app(settings, store, mailer, clock=clock, shops=shops)
    return LocalStack(settings, shops, store, mailer, api, emulator, mounts)
