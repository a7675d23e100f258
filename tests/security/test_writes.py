"""Writes (collections, picks, comments, the display name): cross-site posts, CSRF, content types, size caps,
escaping, read-only mode, the access key as a bearer, forged name cookies and slug guessing, on a real server."""

import re

import pytest
import requests
from bs4 import BeautifulSoup

from collection_helpers import browser, counts, image, make, starter, stop, task_id
from gallery.workspace.collections import SLUG_BYTES


@pytest.fixture
def served(emulator, tmp_path):
    """Starts the gallery on a real port over this test's SQLite database (see collection_helpers.starter)."""
    started: list = []
    yield starter(emulator.url, tmp_path / "cache", f"sqlite:///{tmp_path / 'gallery.db'}", started)
    stop(started)


@pytest.fixture
def server(served):
    return served()[0]


def test_case_57_a_cross_site_form_post_is_refused_and_changes_nothing(server):
    ana = browser(server, "Ana")
    slug = make(server, [task_id(1)], session=ana)["slug"]
    before = counts(server)
    evil = {"Origin": "https://evil.example"}
    # From a browser that holds our cookies and names the other site as its origin: refused whatever it holds.
    assert ana.post(f"{server}/api/collections", data={"title": "pwned", "items": task_id(2)}, headers=evil,
                    timeout=10).status_code == 403
    assert ana.post(f"{server}/api/collections", json={"title": "pwned"}, headers=evil,
                    timeout=10).status_code == 403
    assert ana.post(f"{server}/me", data={"name": "Mallory"}, headers=evil, timeout=10,
                    allow_redirects=False).status_code == 403
    # The same form post with no Origin (or "null"): a form's content type is not JSON.
    plain = requests.Session()
    plain.cookies.update(ana.cookies)
    for origin in ({}, {"Origin": "null"}):
        response = plain.post(f"{server}/api/collections/{slug}/items", data={"items": task_id(2)}, headers=origin,
                              timeout=10)
        assert response.status_code == 415 and "application/json" in response.json()["error"]
    assert ana.get(f"{server}/api/me", timeout=10).json()["name"] == "Ana"
    assert counts(server) == before


def test_case_58_a_browser_request_without_the_csrf_token_is_refused_and_changes_nothing(server):
    ana = browser(server, "Ana")
    slug = make(server, [task_id(1)], session=ana)["slug"]
    before = counts(server)
    plain = requests.Session()  # the browser's cookies, JSON, and no X-CSRFToken
    plain.cookies.update(ana.cookies)
    for method, path, body in (("POST", "/api/collections", {"items": [task_id(2)]}),
                               ("PUT", f"/api/picks/{image(1, 0)}", {}),
                               ("POST", f"/api/images/{image(1, 0)}/comments", {"body": "hi"}),
                               ("PATCH", f"/api/collections/{slug}", {"title": "renamed"}),
                               ("DELETE", f"/api/collections/{slug}", None), ("PUT", "/api/me", {"name": "M"})):
        response = plain.request(method, server + path, json=body, timeout=10)
        assert response.status_code == 400 and "CSRF" in response.json()["error"], (method, path)
    wrong = plain.put(f"{server}/api/picks/{image(1, 0)}", json={}, headers={"X-CSRFToken": "forged"}, timeout=10)
    assert wrong.status_code == 400
    assert plain.post(f"{server}/me", data={"name": "Mallory"}, timeout=10).status_code == 400
    assert ana.get(f"{server}/api/me", timeout=10).json()["name"] == "Ana"
    assert counts(server) == before


def test_case_59_a_write_in_another_type_than_json_is_refused(server):
    before = counts(server)
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = requests.post(f"{server}/api/collections", data='{"items": []}', headers={"Content-Type": kind},
                                 timeout=10)
        assert response.status_code == 415, kind
    assert requests.post(f"{server}/api/collections", data="x" * 300_000, headers={"Content-Type":
                         "application/json"}, timeout=10).status_code == 413
    assert counts(server) == before


def test_case_60_an_oversized_comment_or_title_is_refused_and_nothing_kept(server):
    ana = browser(server, "Ana")
    slug = make(server, [task_id(1)], session=ana)["slug"]
    before = counts(server)
    response = ana.post(f"{server}/api/images/{image(1, 0)}/comments", json={"body": "x" * 2001}, timeout=10)
    assert response.status_code == 413 and "2,000" in response.json()["error"]
    assert ana.patch(f"{server}/api/collections/{slug}", json={"title": "x" * 201}, timeout=10).status_code == 413
    assert ana.post(f"{server}/api/collections", json={"title": "x" * 201}, timeout=10).status_code == 413
    assert ana.put(f"{server}/api/me", json={"name": "x" * 41}, timeout=10).status_code == 413
    assert counts(server) == before
    assert ana.post(f"{server}/api/images/{image(1, 0)}/comments", json={"body": "x" * 2000},
                    timeout=10).status_code == 201


def test_case_61_markup_in_a_title_comment_or_name_is_text_everywhere(server):
    title = '<img src=x onerror=alert(1)> "Lanterns" & <b>co</b>'
    made = make(server, [task_id(1)], title=title)
    ana = browser(server, "<i>Ana</i>")
    ana.post(f"{server}/api/images/{image(1, 0)}/comments", json={"body": "<script>alert(1)</script>"}, timeout=10)
    page = requests.get(f"{server}/c/{made['slug']}", timeout=10)
    assert "<img src=x" not in page.text and "<b>co</b>" not in page.text
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.select_one("h1").get_text() == title
    assert soup.select_one('meta[property="og:title"]')["content"] == title
    assert soup.title.get_text().startswith(title)
    listing = requests.get(f"{server}/collections", timeout=10)
    assert "<img src=x" not in listing.text
    assert BeautifulSoup(listing.text, "html.parser").select_one(".collection-card__title").get_text() == title
    header = ana.get(f"{server}/recent", timeout=10).text
    assert "<i>Ana</i>" not in header and "&lt;i&gt;Ana&lt;/i&gt;" in header
    body = ana.get(f"{server}/api/images/{image(1, 0)}/comments", timeout=10).json()["comments"][0]["body"]
    assert body == "<script>alert(1)</script>"  # plain text as written: the page writes it with textContent


def test_case_62_read_only_refuses_every_write_changes_nothing_and_hides_the_controls(served):
    base, app = served()
    ana = browser(base, "Ana")
    slug = make(base, [task_id(1)], session=ana)["slug"]
    ana.put(f"{base}/api/picks/{image(1, 0)}", timeout=10)
    before = counts(base)
    app.extensions["gallery"].close()
    read_only, _ = served(READ_ONLY=True)
    reader = requests.Session()
    reader.cookies.update(ana.cookies)
    writes = [("POST", "/api/collections", {"items": [task_id(2)]}),
              ("POST", f"/api/collections/{slug}/items", {"items": [task_id(2)]}),
              ("DELETE", f"/api/collections/{slug}/items", {"items": [task_id(1)]}),
              ("POST", f"/api/collections/{slug}/move", {"item": image(1, 2), "after": None}),
              ("PATCH", f"/api/collections/{slug}", {"title": "x"}), ("DELETE", f"/api/collections/{slug}", None),
              ("PUT", f"/api/picks/{image(1, 1)}", None), ("DELETE", f"/api/picks/{image(1, 0)}", None),
              ("POST", f"/api/images/{image(1, 0)}/comments", {"body": "hi"}), ("PUT", "/api/me", {"name": "Bo"})]
    for client in (requests, reader):
        for method, path, body in writes:
            response = client.request(method, read_only + path, json=body, headers=ana.headers
                                      if client is reader else {}, timeout=10)
            assert response.status_code == 403, (method, path, response.text)
            assert response.json() == {"error": "This gallery is read-only."}
    assert reader.post(f"{read_only}/me", data={"name": "Bo"}, timeout=10).status_code == 403
    assert counts(read_only) == before
    page = BeautifulSoup(reader.get(f"{read_only}/c/{slug}", timeout=10).text, "html.parser")
    assert page.select_one('meta[name="csrf-token"]') is None and page.select_one("#site-name") is None
    assert page.select_one("#grid")["data-writable"] == "0"
    assert requests.get(f"{read_only}/api/me", timeout=10).json()["writable"] is False


def test_case_63_with_an_access_key_scripts_write_with_the_bearer_only(served):
    base, _ = served(ACCESS_KEY="team-key-1e3")
    body = {"title": "By script", "items": [task_id(1)]}
    assert requests.post(f"{base}/api/collections", json=body, timeout=10).status_code == 401
    wrong = requests.post(f"{base}/api/collections", json=body, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401 and "error" in wrong.json()
    made = requests.post(f"{base}/api/collections", json=body, headers={"Authorization": "Bearer team-key-1e3"},
                         timeout=10)
    assert made.status_code == 201
    listed = requests.get(f"{base}/api/collections", headers={"Authorization": "Bearer team-key-1e3"}, timeout=10)
    assert [c["title"] for c in listed.json()["collections"]] == ["By script"]


def test_case_64_a_forged_or_unsigned_name_cookie_counts_as_no_name(server):
    ana = browser(server, "Ana")
    note = ana.post(f"{server}/api/images/{image(1, 0)}/comments", json={"body": "mine"}, timeout=10).json()
    signed = ana.cookies["gallery_name"]
    payload, _, signature = signed.rpartition(".")
    mallory = browser(server)
    for forged in (payload, payload + ".AAAA" + signature[4:], "eyJuIjoiQW5hIiwiYSI6IngifQ"):
        mallory.cookies.set("gallery_name", forged)
        assert mallory.get(f"{server}/api/me", timeout=10).json()["name"] is None
        assert mallory.delete(f"{server}/api/comments/{note['id']}", timeout=10).status_code == 403
    assert len(ana.get(f"{server}/api/images/{image(1, 0)}/comments", timeout=10).json()["comments"]) == 1


def test_case_65_slugs_carry_at_least_48_random_bits_and_guesses_find_nothing(server):
    slugs = {make(server, [])["slug"] for _ in range(20)}
    assert len(slugs) == 20 and SLUG_BYTES * 8 >= 48
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{12}", slug) for slug in slugs)
    for guess in ("a", "aaaaaaaaaaaa", next(iter(slugs))[:-1] + "-"):
        assert requests.get(f"{server}/c/{guess}", timeout=10).status_code in (404,)
        assert requests.get(f"{server}/api/collections/{guess}", timeout=10).json() == {
            "error": "There is no collection at this address."}
