"""TEST ONLY — offline Stripe emulator.

A small in-memory imitation of the slice of Stripe's HTTP API that comptoir
uses (Checkout Sessions, line items, expire, refunds, events), with a hosted
test payment page and webhooks signed exactly as Stripe signs them. The
official ``stripe`` library talks to it over HTTP with only the base address
changed::

    state = EmulatorState(
        api_keys=["sk_test_emulator"],
        webhook_endpoints=[WebhookEndpoint("http://127.0.0.1:8000/api/stripe/webhook",
                                           "whsec_...")],
        public_base_url="http://127.0.0.1:8000/_stripe",
    )
    app = Starlette(routes=[Mount("/_stripe", app=create_emulator_app(state)), ...])
    client = stripe.StripeClient("sk_test_emulator",
                                 base_addresses={"api": "http://127.0.0.1:8000/_stripe"})

It can never run with a live key: ``refuse_live_keys`` raises ``LiveKeyError``.
"""

from .app import create_emulator_app
from .clock import Clock
from .safety import LiveKeyError, refuse_live_keys
from .state import EmulatorState
from .webhooks import DeliveryAttempt, RetryPolicy, WebhookEndpoint, signature_header

__all__ = [
    "Clock",
    "DeliveryAttempt",
    "EmulatorState",
    "LiveKeyError",
    "RetryPolicy",
    "WebhookEndpoint",
    "create_emulator_app",
    "refuse_live_keys",
    "signature_header",
]
