"""The emulator's ASGI app: the ``/v1`` API, the hosted payment page and the test hooks.

Serve it alone (``python -m stripe_emulator``) or mount it, e.g.
``Mount("/_stripe", app=create_emulator_app(state))`` with
``public_base_url=".../_stripe"``; the library then uses
``base_addresses={"api": ".../_stripe"}``. A mounted app's lifespan does not
run, so the state starts its background thread on the first request; call
``state.close()`` when the host app shuts down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .api import api_routes
from .hooks import hook_routes
from .page import BANNER, parse_checkout_form, render_closed, render_not_found, render_page
from .state import EmulatorState

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status, headers=PAGE_HEADERS)


def page_routes(state: EmulatorState) -> list[Route]:
    """``GET``/``POST /pay/{session_id}``: the hosted payment page."""

    async def show(request: Request) -> Response:
        view = state.page_view(request.path_params["session_id"])
        if view is None:
            return _html(render_not_found(), 404)
        if view.status != "open":
            return _html(render_closed(view), 410 if view.status == "expired" else 200)
        return _html(render_page(view))

    async def submit(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        view = state.page_view(session_id)
        if view is None:
            return _html(render_not_found(), 404)
        if view.status != "open":
            return _html(render_closed(view), 410 if view.status == "expired" else 200)
        body = (await request.body()).decode(errors="replace")
        values = dict(parse_qsl(body, keep_blank_values=True))
        form, problems = parse_checkout_form(view, values)
        if form is None:
            return _html(render_page(view, values, problems), 422)
        outcome = state.submit_payment(session_id, form)
        if outcome.redirect_to is not None:
            return RedirectResponse(outcome.redirect_to, 303, headers={"Cache-Control": "no-store"})
        view = state.page_view(session_id) or view
        if view.status != "open":
            return _html(render_closed(view), 410 if view.status == "expired" else 200)
        problems = {outcome.field: outcome.error} if outcome.field and outcome.error else {}
        return _html(render_page(view, values, problems, outcome.error), 402)

    return [
        Route("/pay/{session_id}", show, methods=["GET"]),
        Route("/pay/{session_id}", submit, methods=["POST"]),
    ]


def _index(state: EmulatorState) -> Route:
    async def index(request: Request) -> Response:
        body = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Stripe emulator · TEST ONLY</title></head><body>"
            f'<p role="note"><strong>{escape(BANNER)}</strong></p>'
            "<p>This server answers the part of Stripe's API the shop uses under "
            "<code>/v1</code>, shows test payment pages under <code>/pay/</code> and offers "
            "test hooks under <code>/_emulator/</code>. It holds everything in memory.</p>"
            f"<p>Payment pages are linked from <code>{escape(state.public_base_url)}</code>.</p>"
            "</body></html>"
        )
        return _html(body)

    return Route("/", index, methods=["GET"])


def create_emulator_app(state: EmulatorState) -> Starlette:
    """The ASGI app of the TEST ONLY Stripe emulator, serving ``state``."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.start()
        try:
            yield
        finally:
            state.close()

    routes = [_index(state), *page_routes(state), *hook_routes(state), *api_routes(state)]
    return Starlette(routes=routes, lifespan=lifespan)
