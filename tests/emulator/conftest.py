"""Fixtures for the generation and SDK tests: an emulator with short generation timings, and condition waits."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from flux_emulator.app import EmulatorServer

GEN_TOKEN = "generation-token"
# Short enough to keep the tests fast, long enough that an accept is seen to come back before the task is done.
GEN_SETTINGS = {"GENERATE_SECONDS": 0.2, "GENERATE_FAULT": None, "FAULT": None, "PENDING_SECONDS": 0.2,
                "CALLBACK_TIMEOUT_SECONDS": 2.0, "CALLBACK_RETRIES": 3, "CALLBACK_BACKOFF_SECONDS": 0.05}


@pytest.fixture(scope="module")
def generating_server() -> Iterator[EmulatorServer]:
    """One emulator per module for the generation tests."""
    with EmulatorServer(config={"TOKEN": GEN_TOKEN, **GEN_SETTINGS}) as running:
        yield running


@pytest.fixture
def flux_api(generating_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """The emulator with short timings, no generated tasks and no callbacks left from another test."""
    requests.post(f"{generating_server.url}/_emulator/config", json=GEN_SETTINGS, timeout=5).raise_for_status()
    requests.post(f"{generating_server.url}/_emulator/reset", timeout=5).raise_for_status()
    yield generating_server
    requests.post(f"{generating_server.url}/_emulator/reset", timeout=5).raise_for_status()


def _wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy, and return that; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """`wait_until(check, timeout=10, what=...)`: the truthy value `check()` returns first, before the deadline."""
    return _wait_until
