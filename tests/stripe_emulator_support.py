"""Helpers for the Stripe emulator tests: a webhook receiver and a served emulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from stripe_emulator import (
    Clock,
    EmulatorState,
    RetryPolicy,
    WebhookEndpoint,
    create_emulator_app,
)
from tests.servers import serve_app

API_KEY = "sk_test_emulator_tests"
WEBHOOK_SECRET = "whsec_emulator_tests_secret"
FAST_RETRY = RetryPolicy(max_attempts=4, first_delay=0.05, factor=2.0, timeout=5.0)


@dataclass(frozen=True)
class Received:
    """One webhook request as the receiver saw it."""

    body: bytes
    signature: str

    def event(self) -> Any:
        """Verify the signature as a shop would, and return the event."""
        return stripe.Webhook.construct_event(self.body, self.signature, WEBHOOK_SECRET)


@dataclass
class WebhookReceiver:
    """A webhook endpoint that records requests and answers scripted statuses (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            body = await request.body()
            with self._cond:
                self.received.append(Received(body, request.headers.get("stripe-signature", "")))
                status = self.statuses.pop(0) if self.statuses else 200
                self._cond.notify_all()
            return PlainTextResponse("ok" if status < 300 else "failed", status)

        return Starlette(routes=[Route("/webhook", receive, methods=["POST"])])

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Wait until ``count`` requests arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} webhook requests, got {len(self.received)}"
                    )
                self._cond.wait(remaining)
            return list(self.received)

    def events(self) -> list[Any]:
        with self._cond:
            return [item.event() for item in self.received]

    def types(self) -> list[str]:
        return [event.type for event in self.events()]


@dataclass
class Emulator:
    """A served emulator, the real library pointed at it and an HTTP client for its pages."""

    state: EmulatorState
    base_url: str
    client: stripe.StripeClient
    http: httpx.Client
    receiver: WebhookReceiver

    def hooks(self, method: str, path: str, **data: object) -> httpx.Response:
        return self.http.request(
            method,
            f"{self.base_url}/_emulator/{path}",
            data=data or None,
            headers={"Authorization": f"Bearer {API_KEY}"},
        )


class Switch:
    """An ASGI app forwarding to the current ``app``: one server, a fresh app per test."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "no app behind the switch"
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class Servers:
    """Two servers on 127.0.0.1: the emulator's and the webhook receiver's."""

    emulator_url: str
    emulator: Switch
    receiver_url: str
    receiver: Switch


@contextmanager
def emulator_servers() -> Iterator[Servers]:
    emulator, receiver = Switch(), Switch()
    with serve_app(emulator) as emulator_url, serve_app(receiver) as receiver_url:
        yield Servers(emulator_url, emulator, receiver_url, receiver)


@contextmanager
def running_emulator(
    servers: Servers | None = None, clock: Clock | None = None, **options: Any
) -> Iterator[Emulator]:
    """A fresh emulator state and webhook receiver behind ``servers`` (or new ones)."""
    receiver = WebhookReceiver()
    state = EmulatorState(
        api_keys=[API_KEY],
        clock=clock or Clock(),
        retry=options.pop("retry", FAST_RETRY),
        sweep_interval=options.pop("sweep_interval", 0.05),
        **options,
    )
    with ExitStack() as stack:
        if servers is None:
            servers = stack.enter_context(emulator_servers())
        stack.callback(state.close)
        servers.emulator.app = create_emulator_app(state)
        servers.receiver.app = receiver.app()
        receiver_url, base_url = servers.receiver_url, servers.emulator_url
        state.public_base_url = base_url
        state.add_webhook_endpoint(WebhookEndpoint(f"{receiver_url}/webhook", WEBHOOK_SECRET))
        http_client = stripe.RequestsClient()
        stack.callback(http_client.close)
        client = stripe.StripeClient(
            API_KEY,
            base_addresses={"api": base_url},
            http_client=http_client,
            max_network_retries=0,
        )
        http = stack.enter_context(httpx.Client(trust_env=False, timeout=10))
        yield Emulator(state, base_url, client, http, receiver)


def session_params(**overrides: Any) -> Any:
    """The parameters of a typical comptoir checkout, with ``overrides`` (possibly invalid)."""
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": "https://shop.test/merci?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.test/panier",
        "line_items": [
            {
                "quantity": 2,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 1200,
                    "product_data": {"name": "Thé vert Sencha", "metadata": {"sku": "TV-100"}},
                },
            },
            {
                "quantity": 1,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 850,
                    "product_data": {"name": "Infuseur"},
                },
            },
        ],
        "shipping_options": [
            {
                "shipping_rate_data": {
                    "display_name": "Colissimo",
                    "type": "fixed_amount",
                    "fixed_amount": {"amount": 590, "currency": "eur"},
                }
            }
        ],
        "shipping_address_collection": {"allowed_countries": ["FR", "BE"]},
        "consent_collection": {"terms_of_service": "required"},
        "locale": "fr",
        "metadata": {"cart": "c-1"},
        "client_reference_id": "order-1",
    }
    params.update(overrides)
    return params


CARD_FORM = {
    "email": "ana@example.test",
    "name": "Ana Martin",
    "line1": "1 rue des Lilas",
    "postal_code": "75011",
    "city": "Paris",
    "country": "FR",
    "payment_method": "card",
    "card_number": "4242 4242 4242 4242",
    "card_expiry": "12 / 40",
    "card_cvc": "123",
    "terms": "accepted",
}


def sepa_form(iban: str) -> dict[str, str]:
    form = {key: value for key, value in CARD_FORM.items() if not key.startswith("card")}
    return {**form, "payment_method": "sepa_debit", "iban": iban}
