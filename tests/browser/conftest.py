"""Fixtures of the browser tests: a browsing session on the per-test live server, and axe-core's source."""

import pytest

from browsing import AXE, ROOT, Browse
from support import need


@pytest.fixture
def browse(browser, live_server):
    session = Browse(browser, live_server.url)
    yield session
    session.close()
    assert session.problems == [], "the page logged errors:\n" + "\n".join(session.problems)


@pytest.fixture(scope="session")
def axe_source():
    if not AXE.exists():
        need(f"accessibility tests skipped: {AXE.relative_to(ROOT)} is missing (make test runs npm ci)")
    return AXE.read_text(encoding="utf-8")
