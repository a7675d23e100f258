"""A circuit breaker for the Tasks API: after repeated failures, stop asking for a while, then try once."""

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    """Opens after `failures` failed calls in a row; while open, calls are refused for `reset` seconds.

    After that one probe call is let through (half-open): success closes the breaker, failure opens it again.
    The defaults (5 failures, 30 s) are the ones docs/security.md argues for, after pybreaker's 5 / 60 s.
    """

    def __init__(self, failures: int = 5, reset: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.reset = reset
        self._clock = clock
        self._count = 0
        self._opened_at: float | None = None
        self._probing = False
        self._lock = threading.Lock()

    def wait(self) -> float | None:
        """None if a call may go ahead now, else the seconds until one may."""
        with self._lock:
            if self._opened_at is None:
                return None
            left = self._opened_at + self.reset - self._clock()
            if left > 0 or self._probing:
                return max(left, 1.0)
            self._probing = True  # this caller is the one probe
            return None

    def succeeded(self) -> None:
        with self._lock:
            self._count, self._opened_at, self._probing = 0, None, False

    def failed(self) -> None:
        with self._lock:
            self._count += 1
            if self._probing or self._count >= self.failures:
                self._opened_at, self._probing = self._clock(), False
