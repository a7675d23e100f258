"""Fixtures of the workspace tests: each runs on SQLite and on a real PostgreSQL server."""

import uuid

import pytest

from servers import fresh_database, postgres_bin, postgres_server
from support import gallery_app, need


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the whole run, in a temporary folder; its admin URL."""
    if postgres_bin() is None:
        need("PostgreSQL tests skipped: no server programs (apt-get install postgresql)")
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database of this test's own, on each engine in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gallery.db'}"
    admin = request.getfixturevalue("postgres")
    return fresh_database(admin, f"gallery_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def workspace_app(emulator, tmp_path, database_url):
    """The gallery on the emulator, keeping tasks in `database_url`."""
    app = gallery_app(emulator.url, tmp_path / "cache", DATABASE_URL=database_url, TESTING=True)
    yield app
    app.extensions["gallery"].thumbnailer.wait_idle(30)


@pytest.fixture
def kept(workspace_app):
    """The app's kept tasks."""
    return workspace_app.extensions["gallery"].kept
