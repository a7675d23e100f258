"""Links that keep working when the upstream is gone, and the optional access key.

Test names carry the number of the case in docs/security.md that they cover (`test_case_NN_`)."""



import pytest

from security_helpers import DONE, LAKE, inject, make_app, record_with, soup
from support import emulator_stats, gallery_app


def test_a_viewed_gallery_still_renders_with_its_images_when_the_upstream_is_gone(emulator, tmp_path):
    ids = f"{DONE},{LAKE}"
    first = make_app(emulator, tmp_path).test_client()
    assert first.get(f"/tasks/{ids}").status_code == 200
    originals = {path: first.get(path).data for path in (f"/image/{DONE}/0", f"/image/{LAKE}/1")}
    thumbs = {path: first.get(path).data for path in (f"/thumb/{DONE}/0/384", f"/thumb/{LAKE}/1/768")}
    # A restart against an upstream that is not there at all (nothing listens on port 9).
    gone = gallery_app("http://127.0.0.1:9", tmp_path / "cache")
    client = gone.test_client()
    page = client.get(f"/tasks/{ids}")
    assert page.status_code == 200 and len(soup(page).select("li.card--image img")) == 3
    for path, data in {**originals, **thumbs}.items():
        response = client.get(path)
        assert response.status_code == 200 and response.data == data
    # Sizes not made before are made from the kept original.
    assert client.get(f"/thumb/{LAKE}/0/768").status_code == 200


def test_access_key_guards_every_route_but_healthz(emulator, tmp_path):
    app = make_app(emulator, tmp_path, ACCESS_KEY="team-secret-42")
    client = app.test_client()
    link = f"/tasks/{DONE}"
    page = client.get(link)
    assert page.status_code == 401 and soup(page).select_one("form input[name=key]") is not None
    assert soup(page).select_one("input[name=next]")["value"] == link
    assert client.get(f"/api/tasks/{DONE}").status_code == 401
    assert client.get(f"/thumb/{DONE}/0/384").status_code == 401
    assert client.get("/healthz").status_code == 200
    assert emulator_stats(emulator)["task_calls"] == 0
    wrong = client.post("/access", data={"key": "nope", "next": link})
    assert wrong.status_code == 403
    entered = client.post("/access", data={"key": "team-secret-42", "next": link})
    assert entered.status_code == 303 and entered.headers["Location"] == link
    cookie = entered.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "team-secret-42" not in cookie
    assert client.get(link).status_code == 200
    assert client.get(f"/thumb/{DONE}/0/384").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.test/", "//evil.test/", "/\\evil.test", "javascript:alert(1)"])
def test_access_form_never_sends_people_elsewhere(emulator, tmp_path, target):
    client = make_app(emulator, tmp_path, ACCESS_KEY="k").test_client()
    response = client.post("/access", data={"key": "k", "next": target})
    assert response.headers["Location"] == "/"


def test_access_cookies_end_when_the_key_changes(emulator, tmp_path):
    client = make_app(emulator, tmp_path, ACCESS_KEY="old").test_client()
    client.post("/access", data={"key": "old", "next": "/"})
    cookie = client.get_cookie("gallery_access").value
    other = make_app(emulator, tmp_path, ACCESS_KEY="new").test_client()
    other.set_cookie("gallery_access", cookie)
    assert other.get(f"/tasks/{DONE}").status_code == 401


def test_an_image_host_that_is_unreachable_is_a_clear_placeholder(emulator, tmp_path):
    app = make_app(emulator, tmp_path)
    inject(app, DONE, record_with(image_url="http://127.0.0.1:9/x.png"))
    response = app.test_client().get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "could not be reached" in response.headers["X-Image-Error"]
