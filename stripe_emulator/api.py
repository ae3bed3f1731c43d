"""The ``/v1`` HTTP API: authentication, form decoding, idempotency, Stripe-shaped JSON.

Each route maps HTTP methods to a handler ``(state, call) -> JSON``; the
plumbing around it is Stripe's: Bearer or Basic auth with a test key,
``Idempotency-Key`` replay for POSTs, ``Request-Id`` headers and errors as
``{"error": {...}}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import errors, ids
from .forms import FormDict, decode_form
from .objects import JSONObject
from .safety import LIVE_PREFIXES
from .state import ApiRequest, EmulatorState


@dataclass(frozen=True)
class ApiCall:
    """One authenticated API request, decoded."""

    values: FormDict
    path_params: Mapping[str, str]
    request: ApiRequest

    def param(self, name: str) -> str:
        return self.path_params[name]


Handler = Callable[[EmulatorState, ApiCall], JSONObject]


def json_response(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    content = json.dumps(body, indent=2).encode()
    return Response(content, status, headers=dict(headers or {}), media_type="application/json")


def error_response(exc: errors.StripeApiError, request_id: str | None = None) -> Response:
    headers = {"Request-Id": request_id} if request_id else {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="Stripe"'
    return json_response(exc.body(), exc.status, headers)


def authenticate(state: EmulatorState, request: Request) -> str:
    """The API key of the request (Bearer, or Basic with the key as user name)."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = credentials.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not key:
        raise errors.missing_api_key()
    if key.startswith(LIVE_PREFIXES):
        raise errors.StripeApiError(
            "This is the offline Stripe emulator (TEST ONLY): it never accepts live keys.",
            status=401,
        )
    if key not in state.api_keys:
        raise errors.invalid_api_key(key)
    return key


async def read_values(request: Request) -> FormDict:
    """Query parameters for GET and DELETE, the form body for POST."""
    if request.method != "POST":
        return decode_form(request.url.query)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if body and not content_type.startswith("application/x-www-form-urlencoded"):
        raise errors.StripeApiError(
            "Invalid request: the body must be application/x-www-form-urlencoded, "
            f"not {content_type or 'untyped'}."
        )
    try:
        return decode_form(body.decode())
    except UnicodeDecodeError as exc:
        raise errors.StripeApiError("Invalid request: the body is not UTF-8.") from exc


def api_route(state: EmulatorState, path: str, handlers: Mapping[str, Handler]) -> Route:
    """A route answering ``handlers[method]``; other methods get Stripe's 404."""

    async def endpoint(request: Request) -> Response:
        request_id = ids.new_id("req")
        try:
            api_key = authenticate(state, request)
            handler = handlers.get(request.method)
            if handler is None:
                raise errors.unrecognized_url(request.method, request.url.path)
            state.start()
            values = await read_values(request)
            key = request.headers.get("idempotency-key") if request.method == "POST" else None
            call = ApiCall(values, request.path_params, ApiRequest(request_id, key))
            headers = {
                "Request-Id": request_id,
                "Stripe-Version": request.headers.get("stripe-version", state.api_version),
            }
            if key is None:
                return json_response(handler(state, call), headers=headers)
            headers["Idempotency-Key"] = key
            return _idempotent(state, api_key, key, request, call, handler, headers)
        except errors.StripeApiError as exc:
            return error_response(exc, request_id)

    return Route(path, endpoint, methods=["GET", "POST", "DELETE"])


def _idempotent(
    state: EmulatorState,
    api_key: str,
    key: str,
    request: Request,
    call: ApiCall,
    handler: Handler,
    headers: dict[str, str],
) -> Response:
    """Run ``handler`` once per key; replay its saved response afterwards."""
    path = request.url.path
    with state.lock:
        now = state.clock.timestamp()
        saved = state.idempotency.lookup(
            api_key, key, method=request.method, path=path, values=call.values, now=now
        )
        if saved is not None:
            replay_headers = {
                **headers,
                "Idempotent-Replayed": "true",
                "Original-Request": saved.request_id,
            }
            return Response(
                saved.body, saved.status, headers=replay_headers, media_type="application/json"
            )
        try:
            body, status = json.dumps(handler(state, call), indent=2).encode(), 200
        except errors.StripeApiError as exc:
            if not exc.replayable:
                raise
            body, status = json.dumps(exc.body(), indent=2).encode(), exc.status
        state.idempotency.save(
            api_key,
            key,
            method=request.method,
            path=path,
            values=call.values,
            status=status,
            body=body,
            request_id=call.request.id or "",
            now=now,
        )
    return Response(body, status, headers=headers, media_type="application/json")


# --- the endpoints ---------------------------------------------------------------


def _create_session(state: EmulatorState, call: ApiCall) -> JSONObject:
    return state.create_checkout_session(call.values, call.request)


def _list_sessions(state: EmulatorState, call: ApiCall) -> JSONObject:
    return state.list_checkout_sessions(call.values)


def _retrieve_session(state: EmulatorState, call: ApiCall) -> JSONObject:
    return state.retrieve_checkout_session(call.param("id"), call.values)


def _list_line_items(state: EmulatorState, call: ApiCall) -> JSONObject:
    return state.list_line_items(call.param("id"), call.values)


def _expire_session(state: EmulatorState, call: ApiCall) -> JSONObject:
    return state.expire_checkout_session(call.param("id"), call.values, call.request)


def _list_events(state: EmulatorState, call: ApiCall) -> JSONObject:
    return state.list_events(call.values)


def _create_refund(state: EmulatorState, call: ApiCall) -> JSONObject:
    return state.create_refund(call.values, call.request)


def _list_refunds(state: EmulatorState, call: ApiCall) -> JSONObject:
    return state.list_refunds(call.values)


def _retriever(kind: str) -> Handler:
    def retrieve(state: EmulatorState, call: ApiCall) -> JSONObject:
        return state.retrieve(kind, call.param("id"), call.values)

    return retrieve


def api_routes(state: EmulatorState) -> list[BaseRoute]:
    """Every ``/v1`` route of the emulator, and Stripe's 404 for the rest."""
    routes: list[BaseRoute] = [
        api_route(state, "/v1/checkout/sessions", {"POST": _create_session, "GET": _list_sessions}),
        api_route(state, "/v1/checkout/sessions/{id}", {"GET": _retrieve_session}),
        api_route(state, "/v1/checkout/sessions/{id}/line_items", {"GET": _list_line_items}),
        api_route(state, "/v1/checkout/sessions/{id}/expire", {"POST": _expire_session}),
        api_route(state, "/v1/events", {"GET": _list_events}),
        api_route(state, "/v1/events/{id}", {"GET": _retriever("event")}),
        api_route(state, "/v1/refunds", {"POST": _create_refund, "GET": _list_refunds}),
        api_route(state, "/v1/refunds/{id}", {"GET": _retriever("refund")}),
        api_route(state, "/v1/payment_intents/{id}", {"GET": _retriever("payment_intent")}),
        api_route(state, "/v1/charges/{id}", {"GET": _retriever("charge")}),
        api_route(state, "/v1/shipping_rates/{id}", {"GET": _retriever("shipping_rate")}),
        api_route(state, "/v1/products/{id}", {"GET": _retriever("product")}),
        api_route(state, "/v1/prices/{id}", {"GET": _retriever("price")}),
        api_route(state, "/v1/{rest:path}", {}),
    ]
    return routes
