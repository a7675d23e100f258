"""Coalescing: the callers who wait for one run share its result, and each gets an error of its own."""

import threading
import time
import traceback

import pytest

from gallery.flux.client import ApiError
from gallery.infra.coalesce import LocalCoalescer
from gallery.infra.redis_backends import RedisCoalescer


@pytest.fixture(params=["local", "redis"])
def coalescer(request):
    if request.param == "local":
        return LocalCoalescer(wait=10)
    return RedisCoalescer(request.getfixturevalue("redis_client"), wait=10, poll=0.01)


def run_together(coalescer, work, callers=5):
    """Call `work` through the coalescer from `callers` threads while the first caller's run is in flight."""
    started, release = threading.Event(), threading.Event()
    outcomes, lock = [], threading.Lock()

    def leading():
        started.set()
        release.wait(10)
        return work()

    def call(fn):
        try:
            result = coalescer.do("k", fn)
        except Exception as error:  # noqa: BLE001 - the test looks at whatever was raised
            result = error
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=call, args=(leading,))]
    threads[0].start()
    started.wait(10)
    threads += [threading.Thread(target=call, args=(work,)) for _ in range(callers - 1)]
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.5)  # the others are now waiting for the first caller's run
    release.set()
    for thread in threads:
        thread.join(10)
    return outcomes


def test_waiters_share_the_result_of_one_run(coalescer):
    runs = []
    assert run_together(coalescer, lambda: runs.append(1) or "done") == ["done"] * 5
    assert len(runs) == 1


def test_each_waiter_gets_its_own_error_with_its_own_traceback(coalescer):
    runs = []

    def failing():
        runs.append(1)
        raise ApiError("unavailable", "The Flux API could not be reached.", status=503, retry_after=2.0)

    errors = run_together(coalescer, failing)
    assert len(runs) == 1 and len(errors) == 5
    assert len({id(error) for error in errors}) == 5  # one object raised in five threads mixed their tracebacks
    assert {(type(e), e.kind, e.message, e.status, e.retry_after) for e in errors} == {
        (ApiError, "unavailable", "The Flux API could not be reached.", 503, 2.0)}
    leader = next(error for error in errors if error.__cause__ is None)
    for error in errors:
        frames = [frame.name for frame in traceback.extract_tb(error.__traceback__)]
        assert frames.count("call") == 1 and frames.count("do") >= 1  # this thread's frames, once each
        if error is not leader:
            assert error.__cause__ is leader  # where it really failed, for the log
            assert "failing" not in frames
