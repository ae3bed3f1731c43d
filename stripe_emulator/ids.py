"""Object identifiers with Stripe's prefixes (``cs_test_``, ``evt_``, ``pi_``, ...)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str) -> str:
    """``prefix`` followed by ``_1`` and 22 random characters, as most Stripe ids look."""
    return f"{prefix}_1{_random(22)}"


def new_checkout_session_id() -> str:
    """Test-mode Checkout Session ids are long: ``cs_test_a1`` and 58 characters."""
    return f"cs_test_a1{_random(58)}"
