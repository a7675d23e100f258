"""A retry budget for the Tasks API: retries stay a small share of calls, so a struggling upstream is not
sent three times its usual load by our own retries (SRE "Handling Overload"; Finagle's RetryBudget)."""

import threading
import time
from collections import deque
from collections.abc import Callable


class RetryBudget:
    """Allows a retry while retries in the last `window` seconds stay under `ratio` of the calls in it, plus a
    floor of `floor` retries per second so a quiet server can still retry its occasional failed call."""

    def __init__(self, ratio: float = 0.1, *, floor: float = 0.5, window: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ratio = max(0.0, ratio)
        self.floor = max(0.0, floor)
        self.window = window
        self._clock = clock
        self._calls: deque[float] = deque()
        self._retries: deque[float] = deque()
        self._lock = threading.Lock()

    def called(self) -> None:
        """Count a first attempt."""
        with self._lock:
            self._calls.append(self._clock())

    def try_retry(self) -> bool:
        """Whether one more retry fits the budget; a True answer spends it."""
        with self._lock:
            now = self._clock()
            for times in (self._calls, self._retries):
                while times and times[0] <= now - self.window:
                    times.popleft()
            if len(self._retries) + 1 > self.floor * self.window + self.ratio * len(self._calls):
                return False
            self._retries.append(now)
            return True
