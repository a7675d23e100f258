"""Sample data with no token: one emulator for every worker and restart, so kept image addresses keep working."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from app import create_app
from flux_emulator.app import BROKEN_IMAGE_ID, SAMPLE_GALLERIES, SAMPLE_IDS, EmulatorServer
from gallery import sample_data
from support import free_port, gunicorn

EVERYTHING = ",".join(SAMPLE_GALLERIES["Everything"])


@pytest.fixture
def no_token(monkeypatch, tmp_path):
    """The environment `make run` sees on a fresh clone: no token, a cache folder of its own."""
    monkeypatch.delenv("ACEDATACLOUD_API_TOKEN", raising=False)
    monkeypatch.delenv("ACEDATACLOUD_API_BASE_URL", raising=False)
    monkeypatch.setenv("GALLERY_CACHE_DIR", str(tmp_path / "cache"))
    return monkeypatch


def thumbnail_paths(html: str) -> list[str]:
    """Every 384-px thumbnail a gallery page shows, but the sample whose image link has expired by design."""
    return sorted({path for path in re.findall(r'src="(/thumb/[^"]+/384)"', html) if BROKEN_IMAGE_ID not in path})


@pytest.mark.slow
def test_make_serve_shows_every_sample_thumbnail_on_the_first_view(tmp_path):
    port = free_port()
    env = {"ACEDATACLOUD_API_TOKEN": "", "GALLERY_EMULATOR_PORT": str(port), "GALLERY_CACHE_DIR": str(tmp_path),
           "GALLERY_WORKERS": "2", "GALLERY_THREADS": "2", "GALLERY_IMAGE_RATE_LIMIT": "0"}
    with gunicorn(env) as url:
        page = requests.get(f"{url}/tasks/{EVERYTHING}", timeout=30)
        assert page.status_code == 200 and "Sample data" in page.text
        paths = thumbnail_paths(page.text)
        assert len(paths) >= 15
        # New connections each, so both workers answer some: every one must find the same emulator.
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda path: requests.get(url + path, timeout=30).status_code, paths * 2))
        assert statuses == [200] * len(paths) * 2
        assert sample_data.about(f"http://127.0.0.1:{port}") is not None
    # The emulator the master started goes with it.
    assert sample_data.about(f"http://127.0.0.1:{port}") is None


def test_kept_records_from_the_emulator_keep_working_after_a_restart(no_token):
    no_token.setenv("GALLERY_EMULATOR_PORT", str(free_port()))
    first = create_app()
    # The JSON route keeps the records and makes no thumbnail, so the restarted app must fetch every image anew.
    assert first.test_client().get(f"/api/tasks/{EVERYTHING}").status_code == 200
    first.extensions["emulator"].stop()

    again = create_app()
    try:
        client = again.test_client()
        paths = thumbnail_paths(client.get(f"/tasks/{EVERYTHING}").get_data(as_text=True))
        assert paths and [client.get(path).status_code for path in paths] == [200] * len(paths)
    finally:
        again.extensions["emulator"].stop()


def test_an_app_finds_the_emulator_another_process_started(no_token):
    with EmulatorServer(config={"TOKEN": "shared-token"}) as server:
        no_token.setenv("GALLERY_EMULATOR_PORT", str(server.port))
        app = create_app()
        assert app.extensions["emulator"].server is None  # used, not started
        assert app.test_client().get(f"/thumb/{SAMPLE_IDS[0]}/0/384").status_code == 200
        stats = requests.get(f"{server.url}/_emulator/stats", timeout=5).json()
        assert stats["task_calls"] == 1 and stats["media_calls"] == 1


def test_a_port_taken_by_something_else_is_a_clear_error(no_token, httpserver):
    httpserver.expect_request("/_emulator/about").respond_with_data("hello", status=200)
    no_token.setenv("GALLERY_EMULATOR_PORT", str(httpserver.port))
    with pytest.raises(sample_data.EmulatorUnavailable, match="not as the Flux emulator"):
        create_app()


def test_the_standalone_emulator_recipe_works_as_written(no_token):
    """`ACEDATACLOUD_API_BASE_URL=http://127.0.0.1:<port> ACEDATACLOUD_API_TOKEN=emulator-token make run`."""
    with EmulatorServer() as server:
        no_token.setenv("ACEDATACLOUD_API_BASE_URL", server.url)
        no_token.setenv("ACEDATACLOUD_API_TOKEN", "emulator-token")
        app = create_app()
        policy = app.extensions["gallery"].originals.fetcher.policy
        # Its own origin is trusted like the built-in emulator's; nothing else private is.
        assert policy.allow_private is False and policy.trusted == {("127.0.0.1", server.port)}
        assert app.test_client().get(f"/thumb/{SAMPLE_IDS[0]}/0/384").status_code == 200
