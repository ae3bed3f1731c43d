"""What a Lambda cold start builds: the same ASGI app as ``comptoir serve``, under ``/api``.

``cold_start(environ)`` reads the settings (Stripe secrets from SSM Parameter Store when
the environment names them), chooses the back-ends and loads the published shop that
ships in the function package. It never raises: a broken configuration is logged in one
line (the setting to fix, never a secret) and gives a deployment whose every request is
answered ``503 {"error": {"code": "unavailable", ...}}``, so a shopper sees a clear error
and Stripe retries its webhooks until the configuration is fixed.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mangum import Mangum
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from functions.app import Clock, create_app, utc_now
from functions.backends import mailer_for, store_for
from functions.errors import error_response
from functions.mailer import Mailer
from functions.outbox import deliver_due
from functions.outgoing_webhooks import deliver_webhooks
from functions.parameter_store import with_ssm_secrets
from functions.settings import (
    ConfigurationError,
    PublishedShopFile,
    Secret,
    ShopSource,
    from_environment,
)
from functions.store import Store

log = logging.getLogger("comptoir.lambda")

# The folder holding functions/ (and shop/, published/): /var/task in Lambda.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
# Lambda's only writable folder is /tmp; it lasts as long as one instance.
SCRATCH = Path(tempfile.gettempdir()) / "comptoir"
# Expired holds are dropped only once no payment can still land for them: Stripe retries
# a webhook for up to three days, and a late commit of a dropped hold would sell nothing.
HOLD_RETENTION = dt.timedelta(days=4)
UNAVAILABLE = (
    503,
    "unavailable",
    "The shop cannot take orders at the moment. Please try again in a few minutes.",
)


@dataclass(frozen=True)
class Deployment:
    """What one cold start built: the ASGI app Lambda serves and, when the configuration
    is sound, the back-ends the scheduled run works with (None when it is broken)."""

    app: Starlette
    store: Store | None = None
    mailer: Mailer | None = None
    shops: ShopSource | None = None
    clock: Clock = utc_now
    webhook_secrets: Mapping[str, Secret] = field(default_factory=dict, repr=False)


def lambda_defaults(package_root: Path) -> dict[str, str]:
    """The settings a Lambda takes when its environment leaves them out."""
    return {
        "COMPTOIR_PUBLISHED": str(package_root / "published" / "shop.json"),
        "COMPTOIR_STORE": str(SCRATCH / "comptoir.sqlite3"),
        "COMPTOIR_OUTBOX": str(SCRATCH / "outbox"),
    }


def cold_start(
    environ: Mapping[str, str], package_root: Path = PACKAGE_ROOT, clock: Clock = utc_now
) -> Deployment:
    """The deployment for this environment; never raises (see the module's docstring)."""
    try:
        env = dict(environ)
        for name, value in lambda_defaults(package_root).items():
            if not env.get(name, "").strip():
                env[name] = value
        settings = from_environment(package_root, with_ssm_secrets(env))
        store = store_for(settings)
        mailer = mailer_for(settings)
        shops = PublishedShopFile(settings.published_path)
        api = create_app(settings, store, mailer, clock=clock, shops=shops)
    except ConfigurationError as error:
        log.error("comptoir cannot start, every request gets a 503: %s", error)
        return Deployment(unavailable_app())
    except Exception as error:  # anything else: the log has the details, the client never
        log.error(
            "comptoir cannot start, every request gets a 503: unexpected %s",
            type(error).__name__,
            exc_info=True,
        )
        return Deployment(unavailable_app())
    if Path(settings.store).is_relative_to(SCRATCH):
        log.warning(
            "COMPTOIR_STORE is a SQLite file in %s, which lasts as long as this instance: "
            "orders and stock holds are lost with it. Set COMPTOIR_STORE for production.",
            SCRATCH,
        )
    if settings.mail_url is None and settings.outbox_dir.is_relative_to(SCRATCH):
        log.warning(
            "COMPTOIR_MAIL_URL is not set: e-mails are written to %s and never sent. "
            "Set COMPTOIR_MAIL_URL for production.",
            settings.outbox_dir,
        )
    return Deployment(mounted_at_api(api), store, mailer, shops, clock, settings.webhook_secrets)


LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def http_handler(deployment: Deployment) -> LambdaHandler:
    """Mangum around the deployment's app: API Gateway HTTP API (payload 2.0) and Function
    URL events in, their responses out; base64 bodies are decoded to the bytes sent."""
    return Mangum(deployment.app, lifespan="off")


def mounted_at_api(api: ASGIApp) -> Starlette:
    """``api`` at ``/api``, the path Netlify proxies and Stripe's webhook URL use."""
    return Starlette(routes=[Mount("/api", app=api)], exception_handlers={HTTPException: _404})


async def _404(request: Request, exc: Exception) -> Response:
    return error_response(404, "not_found", "No such API route.")


def unavailable_app() -> Starlette:
    """Answers every request 503 unavailable, whatever its path or method."""

    async def unavailable(request: Request) -> Response:
        response = error_response(*UNAVAILABLE)
        response.headers["retry-after"] = "60"
        return response

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", unavailable, methods=methods)])


@dataclass(frozen=True)
class ScheduledReport:
    released_holds: int
    mails_sent: int
    mails_failed: int


def run_scheduled(deployment: Deployment) -> ScheduledReport:
    """The periodic pass: drop long-expired stock holds, send the mail that is due.

    Raises ConfigurationError when the cold start failed, so the invocation counts as
    an error (the alarm a broken configuration should raise).
    """
    if deployment.store is None or deployment.mailer is None or deployment.shops is None:
        raise ConfigurationError("comptoir is not configured: see the cold start's log line")
    now = deployment.clock()
    released = deployment.store.release_expired_holds(now - HOLD_RETENTION)
    shop = deployment.shops.current()
    mail = deliver_due(deployment.store, deployment.mailer, now, shop=shop)
    hooks = deliver_webhooks(deployment.store, shop, now, deployment.webhook_secrets)
    report = ScheduledReport(released, mail.sent, mail.failed)
    log.info(
        "scheduled run: %d expired holds released, %d mails sent, %d failed;"
        " %d webhooks sent, %d failed",
        report.released_holds,
        report.mails_sent,
        report.mails_failed,
        hooks.sent,
        hooks.failed,
    )
    return report
