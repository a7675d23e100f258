"""Fixtures of the security tests."""

import pytest

from security_helpers import Net


@pytest.fixture
def net(monkeypatch):
    """Fake DNS answers and a record of every connect."""
    return Net(monkeypatch)
