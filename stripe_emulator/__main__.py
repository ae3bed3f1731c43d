"""``python -m stripe_emulator``: serve the TEST ONLY Stripe emulator on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import uvicorn

from .app import create_emulator_app
from .safety import LiveKeyError, refuse_live_keys
from .state import EmulatorState
from .webhooks import WebhookEndpoint

DEFAULT_KEY = "sk_test_emulator"
# A live key in these variables means a real account is configured: refuse to start.
KEY_VARIABLES = ("STRIPE_SECRET_KEY", "STRIPE_API_KEY")


def _endpoint(value: str) -> WebhookEndpoint:
    url, separator, secret = value.rpartition("=")
    if not separator or not url:
        raise argparse.ArgumentTypeError("expected URL=whsec_...")
    try:
        return WebhookEndpoint(url, secret)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stripe_emulator",
        description="Serve the TEST ONLY offline Stripe emulator on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument(
        "--api-key", default=DEFAULT_KEY, help=f"the test key to accept ({DEFAULT_KEY})"
    )
    parser.add_argument(
        "--webhook",
        type=_endpoint,
        action="append",
        default=[],
        metavar="URL=whsec_...",
        help="a webhook endpoint and its signing secret",
    )
    parser.add_argument("--public-url", help="base URL of the payment pages, if not 127.0.0.1:PORT")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        for variable in KEY_VARIABLES:
            refuse_live_keys(os.environ.get(variable, ""))
        refuse_live_keys(args.api_key)
        state = EmulatorState(
            api_keys=[args.api_key],
            webhook_endpoints=args.webhook,
            public_base_url=args.public_url or f"http://127.0.0.1:{args.port}",
        )
    except (LiveKeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("TEST ONLY — offline Stripe emulator; no real payment is ever made.")
    print(f"API:   http://127.0.0.1:{args.port}  (key {args.api_key})")
    print(f"Pages: {state.public_base_url}/pay/<checkout session id>")
    for endpoint in args.webhook:
        print(f"Webhook: {endpoint.url}")
    uvicorn.run(create_emulator_app(state), host="127.0.0.1", port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
