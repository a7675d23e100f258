"""Shared fixtures: the emulator over real HTTP, the app wired to it, and images made in code."""

import os
import shutil
from pathlib import Path

import pytest

from app import create_app
from flux_emulator.server import ServerThread
from support import (
    BROWSER_SERVER,
    CHROMIUM_ARGS,
    TOKEN,
    close_apps,
    find_chromium,
    gallery_app,
    make_test_image,
    need,
    opened,
    reset_emulator,
    with_shared_images,
)

# Tests that share a costly module-scoped fixture run on one xdist worker (make test's --dist loadgroup), so it is set
# up once per run rather than once on every worker that draws one of them: nginx, two gunicorns, PostgreSQL and
# Redis for the deployment; an exported sample gallery for the tests that only read it.
SHARED_SETUPS = {"deployment": "deployment", "sizes_export": "sizes export"}


def pytest_itemcollected(item):
    """Group the users of each shared setup (here: xdist reads the groups as collection ends)."""
    for fixture, group in SHARED_SETUPS.items():
        if fixture in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_collection_modifyitems(config, items):
    """Start the tests marked `slow` and the browser tests first, so that the longest work is spread over the
    workers rather than left for one of them at the end; and keep each xdist_group on one worker."""
    if getattr(config.option, "loadgroup", False):  # set in xdist's workers under --dist loadgroup only
        _name_groups(items)
    # xdist hands out groups of several tests first (the largest first), then single tests in this order.
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None,
                                 not item.nodeid.startswith("tests/browser/")))


def _name_groups(items) -> None:
    """Give a grouped test's id its group's name, as pytest-xdist's loadgroup does with pytest before 9.2: from
    9.2 an id is a structured value that its renaming no longer reaches (pytest-xdist issue 1386), so every group
    was silently spread over the workers. Runs after xdist's own hook (this conftest registered first), and does
    nothing where that hook worked."""
    from _pytest.nodeid import NodeId  # only with pytest 9.2 and later, which is where the renaming fails

    for item in items:
        groups = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                         for mark in item.iter_markers("xdist_group")})
        if groups and "@" not in item.nodeid.rsplit("]", 1)[-1]:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")


@pytest.fixture(autouse=True)
def private_database(monkeypatch, tmp_path):
    """Every app a test makes from the environment keeps its tasks in a database of that test's own, and every
    app it made is closed when it ends."""
    monkeypatch.setenv("GALLERY_DATABASE_URL", f"sqlite:///{tmp_path / 'gallery.db'}")
    yield
    close_apps()


@pytest.fixture(scope="session")
def emulator_server():
    """One emulator for the whole run, on a free port of 127.0.0.1."""
    from flux_emulator.app import EmulatorServer, create_emulator

    with EmulatorServer(app=create_emulator({"TOKEN": TOKEN, "PENDING_SECONDS": 1.0})) as server:
        yield server


@pytest.fixture(name="emulator")
def fixture_emulator(emulator_server):
    """The emulator, reset to its normal behaviour for each test."""
    reset_emulator(emulator_server)
    yield emulator_server
    reset_emulator(emulator_server)


@pytest.fixture(name="app")
def fixture_app(emulator, tmp_path):
    """The gallery, pointed at the emulator with a token, caching under a temporary folder."""
    app = gallery_app(emulator.url, tmp_path / "cache", TESTING=True)
    yield app
    # Thumbnails prepared in the background must not spill into the next test's emulator counters.
    app.extensions["gallery"].thumbnailer.wait_idle(30)
    app.extensions["gallery"].close()


@pytest.fixture
def sample_app(monkeypatch, tmp_path):
    """The gallery as `make run` starts it with no token: on its own built-in emulator."""
    monkeypatch.delenv("ACEDATACLOUD_API_TOKEN", raising=False)
    monkeypatch.setenv("GALLERY_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GALLERY_EMULATOR_PORT", "0")  # a private emulator: tests must not share port 5001
    app = opened(create_app())
    yield app
    app.extensions["gallery"].close()
    app.extensions["emulator"].stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_image():
    """Make test images in code (never committed binaries)."""
    return make_test_image


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run; each test gets its own context."""
    path = find_chromium()
    if path is None:
        need("browser tests skipped: no Chromium at /usr/bin/chromium (apt-get install chromium, or set CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def browser_images(tmp_path_factory) -> Path:
    """Originals and thumbnails shared by every browser test of the run, in every test worker, so each image is
    drawn and shrunk once per run rather than once per worker; no browser test is about making them (the image
    tests are). The keys name a task and an image, not the emulator's port, so every worker's emulator fits."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    images = root / "browser-images"
    for folder in ("originals", "thumbs"):
        (images / folder).mkdir(parents=True, exist_ok=True)
    return images


@pytest.fixture(scope="session")
def browser_cache(tmp_path_factory, browser_images):
    """The browser tests' cache folder in this worker: the shared images, and task records of its own."""
    return with_shared_images(tmp_path_factory.mktemp("browser-cache"), browser_images)


@pytest.fixture
def live_server(request, emulator, browser_cache):
    """The gallery on a real port, pointed at the emulator, under its own strict CSP; fresh task cache per test.

    `@pytest.mark.poll_seconds(s)` sets how soon its pages first poll for pending tasks (GALLERY_POLL_SECONDS)."""
    # Images are shared between tests (each is drawn and shrunk once), task records are not: the emulator's
    # pending task starts pending again in every test, and a record kept as done would hide that.
    shutil.rmtree(browser_cache / "tasks", ignore_errors=True)
    for kept in browser_cache.glob("gallery.db*"):
        kept.unlink()
    # Tests of live status poll soon rather than wait the default 3 s; the rest keep the default, so a pending
    # card they read stays as the server rendered it while they read it.
    polls = request.node.get_closest_marker("poll_seconds")
    timing = {"POLL_SECONDS": polls.args[0]} if polls else {}
    app = gallery_app(emulator.url, browser_cache, **BROWSER_SERVER, **timing)
    with ServerThread(app) as server:
        yield server
    app.extensions["gallery"].thumbnailer.wait_idle(30)
    app.extensions["gallery"].close()

