"""A bounded pool for CPU-heavy work: a few run at once, a few wait, and the rest are told to come back."""

import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Busy(Exception):
    """Every slot is taken and the queue is full; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__("the server is busy with other images")
        self.retry_after = retry_after


class Slots:
    """At most `size` runs at once and `queue` waiting; a caller beyond that gets Busy at once, never a long queue."""

    def __init__(self, size: int = 0, queue: int = 32, wait: float = 10.0) -> None:
        self.size = size if size > 0 else (os.cpu_count() or 1)
        self.queue = max(0, queue)
        self.wait = wait
        self._running = threading.BoundedSemaphore(self.size)
        self._waiting = 0
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0  # most runs seen at once, for tests and the benchmark

    def idle(self) -> bool:
        """Whether no work runs or waits here now."""
        with self._lock:
            return not (self.active or self._waiting)

    def spare(self, fn: Callable[[], T]) -> T:
        """`fn()` only when no other work runs or waits, for work that may be left undone; else Busy at once."""
        with self._lock:
            # Idle, not merely a free slot: under load a free slot is a moment between two requests' decodes.
            if self._waiting or self.active or not self._running.acquire(blocking=False):
                raise Busy()
        try:
            with self._lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
            return fn()
        finally:
            with self._lock:
                self.active -= 1
            self._running.release()

    def run(self, fn: Callable[[], T]) -> T:
        """`fn()` in a slot, waiting at most `wait` seconds for one; Busy when the queue is full."""
        if not self._running.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self.queue:
                    raise Busy()
                self._waiting += 1
            try:
                if not self._running.acquire(timeout=self.wait):
                    raise Busy()
            finally:
                with self._lock:
                    self._waiting -= 1
        try:
            with self._lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
            return fn()
        finally:
            with self._lock:
                self.active -= 1
            self._running.release()
