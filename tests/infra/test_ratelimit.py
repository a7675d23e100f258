"""Rate limits app-wide: every route that reaches the upstream or an image spends the client's allowance, whether
the counts live in this process's memory or in a Redis shared by several servers."""

import json

import pytest

from flux_emulator import app as sample
from gallery.web.ratelimit import allowance
from support import gallery_app

DONE = sample.DONE_ID
PAGE_ROUTES = [f"/tasks/{DONE}", f"/api/tasks/{DONE}", f"/download/{DONE}", f"/preview/{DONE}"]
IMAGE_ROUTES = [f"/thumb/{DONE}/0/384", f"/image/{DONE}/0"]


@pytest.fixture(params=["memory", "redis"])
def storage(request):
    """Where the limiter counts: this process's memory, or a real Redis emptied for each test."""
    if request.param == "memory":
        return {}
    request.getfixturevalue("redis_client")  # flushes the database
    return {"REDIS_URL": request.getfixturevalue("redis_url")}


def client_for(emulator, tmp_path, storage, **config):
    return gallery_app(emulator.url, tmp_path, **storage, **config).test_client()


def status(client, path: str, **kwargs) -> int:
    """The status of a GET, its body read and closed (the zip is streamed)."""
    with client.get(path, **kwargs) as response:
        response.get_data()
        return response.status_code


@pytest.mark.parametrize("path", PAGE_ROUTES)
def test_every_page_route_spends_the_page_allowance(emulator, tmp_path, storage, path):
    client = client_for(emulator, tmp_path, storage, RATE_LIMIT=1)
    assert [status(client, path) for _ in range(3)] == [200, 429, 429]


@pytest.mark.parametrize("path", IMAGE_ROUTES)
def test_every_image_route_spends_the_image_allowance(emulator, tmp_path, storage, path):
    client = client_for(emulator, tmp_path, storage, IMAGE_RATE_LIMIT=1)
    assert [status(client, path) for _ in range(3)] == [200, 429, 429]


def test_page_routes_share_one_allowance_and_images_have_their_own(emulator, tmp_path, storage):
    client = client_for(emulator, tmp_path, storage, RATE_LIMIT=1, IMAGE_RATE_LIMIT=1)
    assert status(client, f"/tasks/{DONE}") == 200
    assert [status(client, path) for path in PAGE_ROUTES[1:]] == [429, 429, 429]
    assert [status(client, path) for path in IMAGE_ROUTES] == [200, 429]
    assert [status(client, "/healthz") for _ in range(3)] == [200, 200, 200]
    assert [status(client, "/static/style.css") for _ in range(3)] == [200, 200, 200]


def test_a_429_is_the_apps_own_error_page_with_retry_after(emulator, tmp_path, storage):
    client = client_for(emulator, tmp_path, storage, RATE_LIMIT=1)
    assert status(client, f"/tasks/{DONE}") == 200
    page = client.get(f"/tasks/{DONE}")
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert "Slow down a little" in page.get_data(as_text=True)
    assert 1 <= int(page.headers["Retry-After"]) <= 60 and page.headers["Cache-Control"] == "no-store"
    api = client.get(f"/api/tasks/{DONE}")
    assert api.status_code == 429 and 1 <= int(api.headers["Retry-After"]) <= 60
    error = json.loads(api.get_data())["error"]
    assert error["status"] == 429 and "Too many requests" in error["detail"]


def test_zero_turns_a_limit_off(emulator, tmp_path, storage):
    client = client_for(emulator, tmp_path, storage, RATE_LIMIT=0, IMAGE_RATE_LIMIT=0)
    assert [status(client, f"/api/tasks/{DONE}") for _ in range(5)] == [200] * 5
    assert [status(client, f"/thumb/{DONE}/0/384") for _ in range(5)] == [200] * 5


def test_only_routes_that_reach_neither_upstream_nor_images_are_open(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert {endpoint for endpoint in endpoints if allowance(endpoint) is None} == {
        "static", "gallery.healthz", "gallery.favicon", "gallery.index"}
    assert {endpoint for endpoint in endpoints if allowance(endpoint) == "images"} == {"gallery.thumb",
                                                                                      "gallery.image"}
