"""``Idempotency-Key``: replay the saved response, refuse a key reused with other parameters.

As in Stripe, keys are scoped to the API key, last 24 hours, and only
requests that reached execution are saved (a validation error is not).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from . import errors
from .forms import FormDict

KEY_LIFETIME = 24 * 60 * 60
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class SavedResponse:
    method: str
    path: str
    fingerprint: str
    status: int
    body: bytes
    request_id: str
    created: int


def fingerprint(values: FormDict) -> str:
    """Parameters compared by value, whatever their order on the wire."""
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


class IdempotencyCache:
    """Saved responses by (API key, idempotency key)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._saved: dict[tuple[str, str], SavedResponse] = {}

    def lookup(
        self, api_key: str, key: str, *, method: str, path: str, values: FormDict, now: int
    ) -> SavedResponse | None:
        """The saved response for a replay; raise ``idempotency_error`` on a mismatch."""
        if len(key) > MAX_KEY_LENGTH:
            raise errors.invalid_value(
                "idempotency_key",
                f"Idempotency keys can be at most {MAX_KEY_LENGTH} characters long.",
            )
        with self._lock:
            saved = self._saved.get((api_key, key))
            if saved is not None and now - saved.created >= KEY_LIFETIME:
                del self._saved[(api_key, key)]
                saved = None
        if saved is None:
            return None
        if (saved.method, saved.path, saved.fingerprint) != (method, path, fingerprint(values)):
            raise errors.idempotency_conflict(key)
        return saved

    def save(
        self,
        api_key: str,
        key: str,
        *,
        method: str,
        path: str,
        values: FormDict,
        status: int,
        body: bytes,
        request_id: str,
        now: int,
    ) -> None:
        with self._lock:
            self._saved[(api_key, key)] = SavedResponse(
                method, path, fingerprint(values), status, body, request_id, now
            )
