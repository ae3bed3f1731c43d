"""The Stripe boundary: create and read checkout sessions, verify webhook events.

The official ``stripe`` library does the HTTP; only its base address differs
between Stripe and the offline emulator. Stripe's errors become PaymentError, a
signature that does not match becomes InvalidSignature.

``stripe`` is imported on first use, not at start: it takes about a third of a
second to import, which a Lambda cold start answering a quote need not pay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from functions.errors import PaymentError
from functions.settings import Settings

if TYPE_CHECKING:
    import stripe

log = logging.getLogger("comptoir.payments")
REFUND_KEY = "comptoir_refund"  # the refund's metadata key holding the idempotency key


@dataclass(frozen=True, slots=True)
class CreatedSession:
    id: str
    url: str


class InvalidSignature(ValueError):
    """A webhook whose Stripe-Signature is not Stripe's for its bytes (or is too old)."""


class RefundRefused(PaymentError):
    """Stripe answered that it will not make this refund: nothing was refunded (unlike a
    PaymentError for an outage, after which the refund may or may not have been made)."""


@dataclass(frozen=True, slots=True)
class CreatedRefund:
    id: str
    amount: int  # minor units
    status: str  # "succeeded", "pending", "failed"…


class StripePayments:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._webhook_secret = settings.webhook_secret

    @cached_property
    def client(self) -> stripe.StripeClient:
        import stripe

        base = self._settings.stripe_api_base
        return stripe.StripeClient(
            self._settings.stripe_key.reveal(),
            base_addresses={"api": base} if base else None,
            max_network_retries=2,
        )

    def create_session(self, params: dict[str, Any], idempotency_key: str) -> CreatedSession:
        import stripe

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
        import stripe

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

    def refund(
        self, payment_intent: str, amount: int, idempotency_key: str, *, reason: str | None = None
    ) -> CreatedRefund:
        """Refund ``amount`` minor units of a payment, once per ``idempotency_key`` (the
        same key again answers the same refund: a command run twice refunds once).

        Stripe keeps idempotency keys for 24 hours only, so the key also goes in the
        refund's metadata (``REFUND_KEY``) and the payment's refunds are looked up first:
        a refund asked again days later, after a first attempt that went through but was
        not recorded, finds it instead of refunding twice.

        The order, stock and e-mails follow from Stripe's ``charge.refunded`` event.
        Raises PaymentError (its message fit for a merchant) when Stripe refuses.
        """
        import stripe

        params: dict[str, Any] = {
            "payment_intent": payment_intent,
            "amount": amount,
            "metadata": {REFUND_KEY: idempotency_key},
        }
        if reason:
            params["reason"] = reason  # duplicate, fraudulent or requested_by_customer
        try:
            made = self._refund_keyed(payment_intent, idempotency_key)
            if made is not None:
                return made
            refund = self.client.v1.refunds.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as error:
            raise RefundRefused(
                f"Stripe refused the refund: {error.user_message or error}"
            ) from error
        except stripe.StripeError as error:
            log.error("Stripe refused a refund: %s", error.user_message or error)
            raise PaymentError("The payment service is unavailable.") from error
        return CreatedRefund(refund.id, int(refund.amount), str(refund.status))

    def _refund_keyed(self, payment_intent: str, idempotency_key: str) -> CreatedRefund | None:
        """The payment's refund made under ``idempotency_key``, if there is one that stands
        (one Stripe marked failed or canceled paid nothing back: it is asked again)."""
        refunds = self.client.v1.refunds.list(
            params={"payment_intent": payment_intent, "limit": 100}
        )
        for refund in refunds.auto_paging_iter():
            metadata = refund.metadata
            if (
                metadata is not None
                and REFUND_KEY in metadata
                and metadata[REFUND_KEY] == idempotency_key
                and refund.status not in ("failed", "canceled")
            ):
                return CreatedRefund(refund.id, int(refund.amount), str(refund.status))
        return None

    def verify_event(self, payload: bytes, signature: str) -> stripe.Event:
        """The event, if ``signature`` is Stripe's for these exact bytes (5 min tolerance);
        raises InvalidSignature otherwise."""
        import stripe

        try:
            event: stripe.Event = stripe.Webhook.construct_event(
                payload, signature, self._webhook_secret.reveal(), tolerance=300
            )
        except (stripe.SignatureVerificationError, ValueError):  # ValueError: not JSON
            raise InvalidSignature("The signature does not match.") from None
        return event
