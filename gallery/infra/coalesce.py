"""Request coalescing (singleflight): concurrent calls for one key share a single run and its result."""

import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

T = TypeVar("T")


class Coalescer(Protocol):
    """Runs `fn` once for concurrent callers of one key; a later issue may back this with Redis locks."""

    def do(self, key: str, fn: Callable[[], T]) -> T: ...


class _Call:
    """One run in flight: its waiters block on `done`, then read its result or error."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: object = None
        self.error: BaseException | None = None


class LocalCoalescer:
    """Singleflight within one process, as nginx's proxy_cache_lock does for one cache key."""

    def __init__(self, wait: float = 30.0) -> None:
        self.wait = wait  # a waiter gives up after this long and runs `fn` itself rather than hang
        self._calls: dict[str, _Call] = {}
        self._lock = threading.Lock()

    def do(self, key: str, fn: Callable[[], T]) -> T:
        """The result of `fn()`, run by the first caller of `key`; the others wait for it and share it."""
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if leader:
                call = self._calls[key] = _Call()
        if not leader:
            if not call.done.wait(self.wait):
                return fn()
            if call.error is not None:
                # Its own object: one error raised in several threads would gather all their frames in one
                # traceback. The leader's error stays attached as the cause, showing where the run failed.
                raise own_copy(call.error) from call.error
            return call.result  # type: ignore[return-value]
        try:
            call.result = fn()
            return call.result  # type: ignore[return-value]
        except BaseException as error:
            call.error = error
            raise
        finally:
            with self._lock:
                self._calls.pop(key, None)
            call.done.set()


def own_copy(error: BaseException) -> BaseException:
    """A new error of the same class with the same args and attributes, and no traceback yet."""
    # Built with __new__ rather than copy.copy: that calls __init__ again with the args, which fails for errors
    # whose __init__ takes other arguments (ApiError) and rewords those whose __init__ composes the message.
    twin = type(error).__new__(type(error), *error.args)
    twin.args = error.args
    twin.__dict__.update(vars(error))
    return twin
