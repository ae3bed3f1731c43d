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

Test hooks, in Python (``hooks.py`` lists the same under ``/_emulator/`` over HTTP):

- ``state.advance_clock(seconds)`` / ``state.tick()``: expiries and SEPA settlements
  (SEPA debits settle ``sepa_settle_delay`` emulator seconds after payment, 180 by default);
- ``state.webhooks.hold()``, ``.held_event_ids()``, ``.release(order)``: reorder deliveries;
- ``state.webhooks.duplicate(event_id, times)``, ``.replay(event_id)``: deliver again;
- ``state.webhooks.delay(event_id, seconds)``, ``.set_delay(seconds)``: deliver late;
- ``state.webhooks.wait_until_idle(timeout)``: nothing queued nor in flight;
- ``state.deliveries()``: every attempt (event, URL, attempt number, status or error);
- ``state.events()``: every event emitted.

Deliveries are retried per ``RetryPolicy`` (short delays for tests) on a non-2xx answer
or a connection error, from one background thread, never blocking an API call.
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
