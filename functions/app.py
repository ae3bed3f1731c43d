"""The functions: one ASGI app for ``/api`` (mounted there by ``comptoir serve`` and,
in production, behind the site's origin through Lambda).

Routes (relative to ``/api``): ``POST /quote``, ``POST /checkout``,
``POST /checkout/{session_id}/cancel``,
``POST /stripe/webhook``, ``GET /stock``, ``GET /orders/{session_id}``,
``POST /withdrawals`` and ``POST /withdrawals/confirm`` (``functions.withdrawals``).
Every refusal is ``{"error": {"code", "message"}}`` with the right 4xx;
internal errors never leak details.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from functions.backroom import BackRoom
from functions.checkout import cancel_checkout, quote_request, start_checkout
from functions.errors import INTERNAL, ApiError, error_response
from functions.inbound import CartRequest, check_origin, parse_cart, read_body, read_json
from functions.mailer import Mailer
from functions.outbox import deliver_due
from functions.outgoing_webhooks import deliver_webhooks
from functions.payments import InvalidSignature, StripePayments
from functions.presenters import dispatch_display, order_page_json, order_view
from functions.quotes import catalog_id, quote_json
from functions.settings import PublishedShopFile, Settings, ShopSource
from functions.store import StockCount, Store
from functions.webhooks import Services, handle_event
from functions.withdrawals import Withdrawals
from shop.catalogue import SKU_PATTERN
from shop.published import PublishedShop

log = logging.getLogger("comptoir.functions")
Clock = Callable[[], dt.datetime]
WEBHOOK_BODY_LIMIT = 256 * 1024
_SESSION_ID = re.compile(r"cs_(test|live)_[A-Za-z0-9]{10,200}")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stock_levels(shop: PublishedShop) -> dict[str, int | StockCount]:
    """The merchant's counts of the tracked SKUs (dated by ``stock_counted``), as published."""
    return {
        item.sku: StockCount(item.stock, item.stock_counted)
        for product in shop.catalogue.public
        for item in product.items
        if item.stock is not None
    }


class Api:
    """The handlers, with their collaborators injected (fakes in tests, real ones in prod).

    Each request takes the published shop once (``shop()``) and uses that one throughout,
    so a shop switched meanwhile (``comptoir serve`` after a rebuild) never mixes with it.
    """

    def __init__(
        self,
        settings: Settings,
        shops: ShopSource,
        store: Store,
        mailer: Mailer,
        payments: StripePayments,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.shops = shops
        self.store = store
        self.mailer = mailer
        self.payments = payments
        self.clock = clock
        self._synced: PublishedShop | None = None
        self._sync_lock = threading.Lock()
        self.shop()

    def shop(self) -> PublishedShop:
        """The current published shop, its stock counts adopted by the store once."""
        shop = self.shops.current()
        if shop is not self._synced:
            with self._sync_lock:  # rare: at start, and once after each rebuild
                if shop is not self._synced:
                    self.store.sync_stock(stock_levels(shop))
                    self._synced = shop
        return shop

    # -- routes ---------------------------------------------------------------

    async def quote(self, request: Request) -> Response:
        shop = self.shop()
        check_origin(request, self.settings.allowed_origins(shop))
        cart = parse_cart(await read_json(request))
        quote = await run_in_threadpool(
            quote_request, shop, self.store, cart, shop.today(self.clock())
        )
        # "catalog" names the prices this quote used: checkout sends it back (prices_changed).
        return JSONResponse(
            {**quote_json(quote, shop.config.locale), "catalog": catalog_id(shop)},
            headers={"cache-control": "no-store"},
        )

    async def checkout(self, request: Request) -> Response:
        shop = self.shop()
        origin = check_origin(request, self.settings.allowed_origins(shop))
        cart = parse_cart(await read_json(request))
        if cart.catalog is not None and cart.catalog != catalog_id(shop):
            return await self.prices_changed(shop, cart)
        session_id, url = await run_in_threadpool(
            start_checkout,
            self.settings,
            shop,
            self.store,
            self.payments,
            cart,
            self.clock(),
            origin,
        )
        return JSONResponse(
            {"url": url, "session_id": session_id},
            status_code=201,
            headers={"cache-control": "no-store"},
        )

    async def prices_changed(self, shop: PublishedShop, cart: CartRequest) -> Response:
        """409 with the cart priced afresh: the shopper saw totals of an older catalogue
        and confirms the new ones (nothing is held or charged)."""
        quote = await run_in_threadpool(
            quote_request, shop, self.store, cart, shop.today(self.clock())
        )
        error = {
            "code": "prices_changed",
            "message": "Prices have changed since this cart was priced. Check the new total.",
        }
        return JSONResponse(
            {
                "error": error,
                "quote": {**quote_json(quote, shop.config.locale), "catalog": catalog_id(shop)},
            },
            status_code=409,
            headers={"cache-control": "no-store"},
        )

    async def cancel(self, request: Request) -> Response:
        check_origin(request, self.settings.allowed_origins(self.shop()))
        session_id = request.path_params["session_id"]
        if not _SESSION_ID.fullmatch(session_id):
            raise ApiError(404, "checkout_not_found", "No such checkout.")
        await run_in_threadpool(cancel_checkout, self.store, self.payments, session_id)
        return JSONResponse({"cancelled": True}, headers={"cache-control": "no-store"})

    async def webhook(self, request: Request) -> Response:
        payload = await read_body(request, WEBHOOK_BODY_LIMIT)
        signature = request.headers.get("stripe-signature", "")
        try:
            event = self.payments.verify_event(payload, signature)
        except InvalidSignature:
            raise ApiError(400, "invalid_signature", "The signature does not match.") from None
        obj = event.data.object.to_dict()
        services = Services(self.shop(), self.store, self.payments)
        outcome = await run_in_threadpool(
            handle_event, services, event.id, event.type, obj, self.clock()
        )
        log.info("webhook %s %s: %s", event.type, event.id, outcome)
        return JSONResponse({"received": True}, background=BackgroundTask(self.deliver_mail))

    async def stock(self, request: Request) -> Response:
        skus = request.query_params.getlist("sku")
        if not skus or len(skus) > 100 or not all(SKU_PATTERN.fullmatch(s) for s in skus):
            raise ApiError(400, "invalid_sku", "Ask for 1 to 100 product references (?sku=…).")
        catalogue = self.shop().catalogue
        unknown = [s for s in skus if catalogue.item(s) is None]
        if unknown:
            raise ApiError(404, "unknown_sku", "This product is not for sale.", sku=unknown[0])
        levels = await run_in_threadpool(self.store.available, skus, self.clock())
        body = {
            sku: {"available": level, "in_stock": level is None or level > 0}
            for sku, level in levels.items()
        }
        return JSONResponse({"stock": body}, headers={"cache-control": "no-store"})

    async def order(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if not _SESSION_ID.fullmatch(session_id):
            raise ApiError(404, "order_not_found", "No such order.")
        order = await run_in_threadpool(self.store.get_order, session_id)
        if order is None:
            checkout = await run_in_threadpool(self.store.get_checkout, session_id)
            if checkout is None:
                raise ApiError(404, "order_not_found", "No such order.")
            # Paid but the webhook has not landed yet: the success page polls.
            return JSONResponse(
                {"status": "processing"},
                status_code=202,
                headers={"cache-control": "no-store", "retry-after": "2"},
            )
        config = self.shop().config
        view = order_view(order, config.locale)
        dispatch = dispatch_display(order, config.timezone, config.locale)
        page = order_page_json(view, self.clock(), dispatch)
        return JSONResponse(page, headers={"cache-control": "no-store"})

    # -- plumbing -------------------------------------------------------------

    def deliver_mail(self) -> None:
        """Send what the outbox holds; failures stay queued for the next attempt."""
        try:
            deliver_due(self.store, self.mailer, self.clock(), shop=self.shop())
        except Exception:  # the outbox keeps the mail; a later pass retries it
            log.exception("mail delivery pass failed")
        try:  # outgoing webhooks ride on the same passes, in their own queue
            deliver_webhooks(self.store, self.shop(), self.clock(), self.settings.webhook_secrets)
        except Exception:
            log.exception("webhook delivery pass failed")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
    message = {404: "No such API route.", 405: "This method is not allowed here."}.get(
        exc.status_code, "Bad request."
    )
    return error_response(exc.status_code, code, message)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception(
        "internal error on %s %s", request.method, urlsplit(str(request.url)).path, exc_info=exc
    )
    return error_response(*INTERNAL)


def create_app(
    settings: Settings,
    store: Store,
    mailer: Mailer,
    payments: StripePayments | None = None,
    clock: Clock = utc_now,
    shops: ShopSource | None = None,
) -> Starlette:
    """The functions' ASGI app; ``shops`` defaults to the file ``settings.published_path``
    (raises ConfigurationError, saying what to run, when it cannot be loaded)."""
    shops = shops or PublishedShopFile(settings.published_path)
    api = Api(settings, shops, store, mailer, payments or StripePayments(settings), clock)
    withdrawals = Withdrawals(
        settings,
        api.shop,
        store,
        lambda: BackRoom(store, api.shops, api.payments, clock),
        api.deliver_mail,
        clock,
    )
    return Starlette(
        routes=[
            Route("/quote", api.quote, methods=["POST"]),
            Route("/checkout", api.checkout, methods=["POST"]),
            Route("/checkout/{session_id}/cancel", api.cancel, methods=["POST"]),
            Route("/stripe/webhook", api.webhook, methods=["POST"]),
            Route("/stock", api.stock, methods=["GET"]),
            Route("/orders/{session_id}", api.order, methods=["GET"]),
            Route("/withdrawals", withdrawals.start, methods=["POST"]),
            Route("/withdrawals/confirm", withdrawals.confirm, methods=["POST"]),
        ],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )
