"""The Stripe boundary: create and read checkout sessions, verify webhook events.

The official ``stripe`` library does the HTTP; only its base address differs
between Stripe and the offline emulator. Stripe's errors become PaymentError.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import stripe

from functions.errors import PaymentError
from functions.settings import Settings

log = logging.getLogger("comptoir.payments")


@dataclass(frozen=True, slots=True)
class CreatedSession:
    id: str
    url: str


class StripePayments:
    def __init__(self, settings: Settings) -> None:
        base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self.client = stripe.StripeClient(
            settings.stripe_key.reveal(),
            base_addresses=base,  # type: ignore[arg-type]
            max_network_retries=2,
        )
        self._webhook_secret = settings.webhook_secret

    def create_session(self, params: dict[str, Any], idempotency_key: str) -> CreatedSession:
        try:
            session = self.client.v1.checkout.sessions.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            log.error("Stripe refused a checkout session: %s", error.user_message or error)
            raise PaymentError("The payment service is unavailable.") from error
        if not session.url:
            raise PaymentError("The payment service returned no payment page.")
        return CreatedSession(session.id, session.url)

    def expire_session(self, session_id: str) -> str:
        """End a checkout session if it is open; returns its status afterwards
        ("expired", or "complete" when it was paid meanwhile)."""
        try:
            return str(self.client.v1.checkout.sessions.expire(session_id).status)
        except stripe.InvalidRequestError:
            pass  # not open any more: ask what it became
        except stripe.StripeError as error:
            log.error("Stripe refused to expire a session: %s", error.user_message or error)
            raise PaymentError("The payment service is unavailable.") from error
        try:
            return str(self.client.v1.checkout.sessions.retrieve(session_id).status)
        except stripe.StripeError as error:
            raise PaymentError("The payment service is unavailable.") from error

    def verify_event(self, payload: bytes, signature: str) -> stripe.Event:
        """The event, if ``signature`` is Stripe's for these exact bytes (5 min tolerance)."""
        event: stripe.Event = stripe.Webhook.construct_event(
            payload, signature, self._webhook_secret.reveal(), tolerance=300
        )
        return event
