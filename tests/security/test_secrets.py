"""Secrets: the API token never leaves the API client; image hosts see no credentials; debug stays off.

Test names carry the number of the case in docs/security.md that they cover (`test_case_NN_`)."""


import logging

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response as WResponse

from app import create_app
from gallery.flux.client import ApiError, FluxClient
from security_helpers import DONE, LAKE, MULTI, fetcher_for, make_app, png
from support import TOKEN, set_fault


@pytest.mark.parametrize("fault", ["401", "500", "slow", "malformed", "429", "html", None])
def test_case_10_the_token_is_in_no_body_header_or_debug_log(emulator, tmp_path, caplog, fault):
    caplog.set_level(logging.DEBUG)
    # "slow" outlasts the timeout of each attempt; both attempts fit the deadline, so a retry is logged too.
    app = make_app(emulator, tmp_path, API_TIMEOUT=0.2, API_ATTEMPTS=2, API_DEADLINE=0.45)
    set_fault(emulator, fault, SLOW_SECONDS=0.5)
    client = app.test_client()
    responses = [client.get(path) for path in (f"/tasks/{DONE},{LAKE}", f"/api/tasks/{MULTI}",
                                               f"/thumb/{DONE}/0/384", f"/image/{DONE}/0", "/nowhere")]
    for response in responses:
        assert TOKEN.encode() not in response.data
        assert TOKEN not in str(response.headers)
    assert caplog.records and TOKEN not in caplog.text
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_case_11_image_hosts_never_see_authorization_or_cookies(httpserver):
    seen = []

    def handler(request):
        seen.append(dict(request.headers))
        return WResponse(png(), content_type="image/png", headers={"Set-Cookie": "track=1; Path=/"})

    httpserver.expect_request("/a.png").respond_with_handler(handler)
    fetcher = fetcher_for(httpserver, allow_loopback=True)
    fetcher.fetch(httpserver.url_for("/a.png"))
    fetcher.fetch(httpserver.url_for("/a.png"))  # a cookie set by the first answer is not sent back
    assert len(seen) == 2
    for headers in seen:
        names = {name.lower() for name in headers}
        assert "authorization" not in names and "cookie" not in names
        assert headers.get("Accept-Encoding") == "identity"


def test_case_12_a_redirect_from_the_tasks_api_is_not_followed(httpserver):
    with HTTPServer(host="127.0.0.1") as other:
        other.expect_request("/flux/tasks").respond_with_json({"id": DONE})
        httpserver.expect_request("/flux/tasks").respond_with_data(
            "", status=302, headers={"Location": other.url_for("/flux/tasks")})
        client = FluxClient(httpserver.url_for("/"), TOKEN, sleep=lambda s: None)
        with pytest.raises(ApiError):
            client.fetch([DONE])
        assert len(other.log) == 0


def test_case_13_production_config_has_debug_off_and_a_generic_500(monkeypatch, tmp_path, emulator):
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", TOKEN)
    monkeypatch.setenv("ACEDATACLOUD_API_BASE_URL", emulator.url)
    monkeypatch.setenv("GALLERY_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app()
    assert app.debug is False and not app.testing

    def boom():
        raise RuntimeError("internal detail /srv/secret.py")

    app.add_url_rule("/boom", view_func=boom)
    response = app.test_client().get("/boom")
    text = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Traceback" not in text and "internal detail" not in text
    assert "request " in text and response.headers["Content-Security-Policy"]
