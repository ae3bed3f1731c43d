"""Guards that keep the emulator test-only: it never accepts a live key."""

from __future__ import annotations

LIVE_PREFIXES = ("sk_live_", "rk_live_", "pk_live_")
TEST_PREFIXES = ("sk_test_", "rk_test_")


class LiveKeyError(ValueError):
    """A live Stripe key was given to the test-only emulator."""


def refuse_live_keys(key: str) -> None:
    """Raise ``LiveKeyError`` if ``key`` is a live Stripe key."""
    if key.strip().startswith(LIVE_PREFIXES):
        raise LiveKeyError(
            "The offline Stripe emulator is TEST ONLY and refuses live keys "
            f"({key[:8]}…); configure a sk_test_ key or none."
        )


def require_test_key(key: str) -> str:
    """Return ``key`` if it is a test secret (or restricted) key, else raise."""
    refuse_live_keys(key)
    if not key.startswith(TEST_PREFIXES) or len(key) <= len("sk_test_"):
        raise ValueError(
            f"an emulator API key must start with sk_test_ or rk_test_, not {key[:8]!r}"
        )
    return key


def require_webhook_secret(secret: str) -> str:
    """Return ``secret`` if it looks like a webhook signing secret (``whsec_...``)."""
    if not secret.startswith("whsec_") or len(secret) <= len("whsec_"):
        raise ValueError("a webhook signing secret must start with whsec_")
    return secret
