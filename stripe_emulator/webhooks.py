"""Webhook delivery: signed exactly as Stripe signs, asynchronous, retried with backoff.

One background thread sends the deliveries one at a time, in order (so tests
can reason about it), and runs the state's periodic sweep. Test hooks hold,
reorder, delay, duplicate and replay deliveries; every attempt is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .safety import require_webhook_secret

logger = logging.getLogger(__name__)
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


@dataclass(frozen=True)
class WebhookEndpoint:
    """Where events are POSTed, the ``whsec_`` secret they are signed with, and which types."""

    url: str
    secret: str = field(repr=False)
    enabled_events: tuple[str, ...] = ("*",)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"a webhook endpoint needs an http(s) URL, not {self.url!r}")
        require_webhook_secret(self.secret)

    def wants(self, event_type: str) -> bool:
        for pattern in self.enabled_events:
            if pattern == "*" or pattern == event_type:
                return True
            if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
                return True
        return False


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``max_attempts`` tries; the n-th retry waits ``first_delay * factor**(n-1)`` s.

    Stripe retries for three days; the emulator's defaults take about a minute,
    and tests use milliseconds.
    """

    max_attempts: int = 6
    first_delay: float = 2.0
    factor: float = 2.0
    timeout: float = 10.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (2, 3, ...)."""
        return self.first_delay * self.factor ** (attempt - 2)


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """``Stripe-Signature``: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>``."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of one event to one endpoint, as the delivery log records it."""

    event_id: str
    event_type: str
    url: str
    attempt: int
    status_code: int | None
    error: str | None
    at: float

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def json(self) -> dict[str, object]:
        return {
            "event": self.event_id,
            "type": self.event_type,
            "url": self.url,
            "attempt": self.attempt,
            "status_code": self.status_code,
            "error": self.error,
            "succeeded": self.succeeded,
            "at": self.at,
        }


@dataclass
class _Delivery:
    sequence: int
    event_id: str
    event_type: str
    endpoint: WebhookEndpoint
    due: float  # time.monotonic()
    attempt: int = 1


class WebhookDispatcher:
    """Queues, signs and sends events to the endpoints; see the module docstring."""

    def __init__(
        self,
        endpoints: Sequence[WebhookEndpoint],
        retry: RetryPolicy,
        *,
        signing_clock: Callable[[], float] = time.time,
        on_delivered: Callable[[str, str], None] | None = None,
        periodic: Callable[[], None] | None = None,
        period: float = 1.0,
    ) -> None:
        self._endpoints = list(endpoints)
        self._retry = retry
        self._signing_clock = signing_clock
        self._on_delivered = on_delivered
        self._periodic = periodic
        self._period = period
        self._cond = threading.Condition()
        self._payloads: dict[str, tuple[str, bytes]] = {}
        self._pending: list[_Delivery] = []
        self._held: list[_Delivery] = []
        self._holding = False
        self._extra_delay = 0.0
        self._sequence = 0
        self._in_flight = 0
        self._log: list[DeliveryAttempt] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    # --- configuration and lifecycle -------------------------------------------

    @property
    def endpoints(self) -> list[WebhookEndpoint]:
        with self._cond:
            return list(self._endpoints)

    def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        with self._cond:
            self._endpoints.append(endpoint)

    def start(self) -> None:
        """Start the background thread (idempotent; a closed dispatcher stays closed)."""
        with self._cond:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(
                target=self._run, name="stripe-emulator-webhooks", daemon=True
            )
            self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread; undelivered events are dropped."""
        with self._cond:
            self._closed = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # --- publishing ------------------------------------------------------------

    def publish(self, event_id: str, event_type: str, payload: bytes) -> None:
        """Queue ``payload`` for every endpoint that wants ``event_type``."""
        with self._cond:
            self._payloads[event_id] = (event_type, payload)
            self._fan_out(event_id, delay=self._extra_delay)

    def _fan_out(self, event_id: str, *, delay: float = 0.0, times: int = 1) -> int:
        event_type = self._payloads[event_id][0]
        due = time.monotonic() + delay
        count = 0
        for endpoint in self._endpoints:
            if endpoint.wants(event_type):
                for _ in range(times):
                    self._enqueue(
                        _Delivery(self._next_sequence(), event_id, event_type, endpoint, due)
                    )
                    count += 1
        return count

    def _next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def _enqueue(self, delivery: _Delivery) -> None:
        (self._held if self._holding else self._pending).append(delivery)
        self._cond.notify_all()

    # --- test hooks ------------------------------------------------------------

    def hold(self) -> None:
        """Keep every delivery (new ones and retries) until ``release``."""
        with self._cond:
            self._holding = True

    def held_event_ids(self) -> list[str]:
        with self._cond:
            return list(dict.fromkeys(d.event_id for d in self._held))

    def release(self, order: Sequence[str] = ()) -> None:
        """Send the held deliveries now: events named in ``order`` first, in that order,
        then the others as they came; stop holding."""
        with self._cond:
            rank = {event_id: index for index, event_id in enumerate(order)}
            unknown = [event_id for event_id in order if event_id not in self._payloads]
            if unknown:
                raise KeyError(f"no such event: {unknown[0]}")
            held = sorted(self._held, key=lambda d: (rank.get(d.event_id, len(rank)), d.sequence))
            self._held = []
            self._holding = False
            now = time.monotonic()
            for delivery in held:
                delivery.sequence = self._next_sequence()
                delivery.due = max(delivery.due, now)  # a delay set while held still counts
                self._pending.append(delivery)
            self._cond.notify_all()

    def duplicate(self, event_id: str, times: int = 1) -> int:
        """Send ``event_id`` ``times`` more times to each endpoint (same id, fresh signature)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._cond:
            self._check_event(event_id)
            return self._fan_out(event_id, times=times)

    def replay(self, event_id: str) -> int:
        """Send ``event_id`` again now, like the Dashboard's "Resend"."""
        return self.duplicate(event_id, 1)

    def delay(self, event_id: str, seconds: float) -> int:
        """Postpone the queued deliveries of ``event_id`` by ``seconds``."""
        with self._cond:
            self._check_event(event_id)
            now = time.monotonic()
            queued = [d for d in self._pending + self._held if d.event_id == event_id]
            for delivery in queued:
                delivery.due = max(delivery.due, now) + seconds
            self._cond.notify_all()
            return len(queued)

    def set_delay(self, seconds: float) -> None:
        """Send every event published from now on ``seconds`` late."""
        with self._cond:
            self._extra_delay = max(0.0, seconds)

    def attempts(self, event_id: str | None = None) -> list[DeliveryAttempt]:
        """The delivery log, oldest first."""
        with self._cond:
            return [a for a in self._log if event_id is None or a.event_id == event_id]

    def wait_until_idle(self, timeout: float = 5.0) -> bool:
        """Wait until nothing is queued or in flight (held deliveries excepted)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def _check_event(self, event_id: str) -> None:
        if event_id not in self._payloads:
            raise KeyError(f"no such event: {event_id}")

    # --- the worker ------------------------------------------------------------

    def _run(self) -> None:
        next_sweep = time.monotonic()
        while True:
            with self._cond:
                job, next_sweep = self._next_job(next_sweep)
                if job is None and self._closed:
                    return
                if job is not None:
                    self._in_flight += 1
            if job is None:
                self._run_periodic()
                continue
            try:
                self._attempt(job)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _next_job(self, next_sweep: float) -> tuple[_Delivery | None, float]:
        """Wait (lock held) for a due delivery, a sweep or closing; None means sweep/close."""
        while not self._closed:
            now = time.monotonic()
            if self._periodic is not None and now >= next_sweep:
                return None, now + self._period
            due = [d for d in self._pending if d.due <= now]
            if due:
                job = min(due, key=lambda d: (d.due, d.sequence))
                self._pending.remove(job)
                return job, next_sweep
            wakeups = [d.due for d in self._pending]
            if self._periodic is not None:
                wakeups.append(next_sweep)
            self._cond.wait(max(0.0, min(wakeups) - now) if wakeups else None)
        return None, next_sweep

    def _run_periodic(self) -> None:
        if self._periodic is None or self._closed:
            return
        try:
            self._periodic()
        except Exception:  # a failing sweep must not stop deliveries
            logger.exception("the Stripe emulator's periodic sweep failed")

    def _attempt(self, job: _Delivery) -> None:
        event_type, payload = self._payloads[job.event_id]
        timestamp = int(self._signing_clock())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Stripe-Signature": signature_header(payload, job.endpoint.secret, timestamp),
        }
        status, error = post(job.endpoint.url, payload, headers, self._retry.timeout)
        record = DeliveryAttempt(
            job.event_id, event_type, job.endpoint.url, job.attempt, status, error, time.time()
        )
        with self._cond:
            self._log.append(record)
            if not record.succeeded and job.attempt < self._retry.max_attempts:
                job.attempt += 1
                job.due = time.monotonic() + self._retry.delay_before(job.attempt)
                self._enqueue(job)
        if record.succeeded and self._on_delivered is not None:
            self._on_delivered(job.event_id, job.endpoint.url)


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int | None, str | None]:
    """POST without proxies or redirects (Stripe treats a 3xx as a failure)."""
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, None
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
