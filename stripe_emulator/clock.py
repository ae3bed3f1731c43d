"""The emulator's clock: wall time (or a fixed start) plus an offset tests can advance."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Clock:
    """Seconds since the epoch as the emulator sees them.

    ``Clock()`` follows the wall clock; ``Clock(start=...)`` is frozen at
    ``start``. Either moves forward with ``advance``; it never goes back.
    """

    def __init__(
        self, start: float | None = None, *, source: Callable[[], float] = time.time
    ) -> None:
        self._start = start
        self._source = source
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            base = self._start if self._start is not None else self._source()
            return base + self._offset

    def timestamp(self) -> int:
        """Whole seconds, as Stripe's ``created`` and ``expires_at``."""
        return int(self.now())

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += seconds
