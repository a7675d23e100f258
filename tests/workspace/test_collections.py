"""Collections, picks and comments end to end, on a real server over HTTP, on SQLite and on PostgreSQL."""

import json
import re
import time
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
import requests
from bs4 import BeautifulSoup

from collection_helpers import browser, image, make, refs, starter, stop, task_id
from gallery.flux.models import task_from_record
from gallery.web.collections import FIRST_PAGE_ITEMS
from gallery.workspace.collections import GAP, MAX_IMAGES, Author, Ref
from workspace_helpers import record


@pytest.fixture
def served(emulator, tmp_path, database_url):
    """Starts the gallery on a real port over this test's database (see collection_helpers.starter)."""
    started: list = []
    yield starter(emulator.url, tmp_path / "cache", database_url, started)
    stop(started)


@pytest.fixture
def server(served):
    return served()[0]

# ---- the JSON API ---------------------------------------------------------------------------------------------

def test_a_script_makes_appends_removes_moves_and_renames(server):
    made = make(server, [task_id(1), image(2, 1)], title="")
    assert made["title"] == "Untitled collection" and made["image_count"] == 4
    assert made["url"] == f"{server}/c/{made['slug']}"
    slug = made["slug"]
    assert refs(server, slug) == [image(1, 0), image(1, 1), image(1, 2), image(2, 1)]

    added = requests.post(f"{server}/api/collections/{slug}/items", json={"items": [image(2, 1), task_id(3),
                                                                                     image(1, 0)]}, timeout=10)
    assert added.json()["added"] == 3 and added.json()["image_count"] == 7  # the repeats were skipped
    removed = requests.delete(f"{server}/api/collections/{slug}/items", json={"items": [image(3, 1), task_id(1)]},
                              timeout=10)
    assert removed.json() == {"removed": 4, "image_count": 3, "version": removed.json()["version"]}
    assert refs(server, slug) == [image(2, 1), image(3, 0), image(3, 2)]

    assert requests.post(f"{server}/api/collections/{slug}/move", json={"item": image(3, 2), "after": None},
                         timeout=10).status_code == 200
    assert requests.post(f"{server}/api/collections/{slug}/move", json={"item": image(2, 1), "after": image(3, 0)},
                         timeout=10).status_code == 200
    assert refs(server, slug) == [image(3, 2), image(3, 0), image(2, 1)]

    before = requests.get(f"{server}/api/collections/{slug}", timeout=10).json()["version"]
    renamed = requests.patch(f"{server}/api/collections/{slug}", json={"title": "Best lanterns",
                                                                       "description": "for the poster"}, timeout=10)
    assert renamed.json()["title"] == "Best lanterns" and renamed.json()["version"] != before
    body = requests.get(f"{server}/api/collections/{slug}", timeout=10).json()
    assert body["description"] == "for the poster" and body["created_by"] == "script"
    assert body["items"][0]["task"]["id"] == task_id(3) and body["items"][0]["image_indexes"] == [2]
    assert [image["index"] for image in body["items"][0]["task"]["images"]] == [2]
    unchanged = requests.get(f"{server}/api/collections/{slug}?version={body['version']}", timeout=10).json()
    assert unchanged["changed"] is False and "items" not in unchanged


def test_many_moves_into_one_gap_keep_the_order(server):
    slug = make(server, [task_id(1), task_id(2)])["slug"]
    order = refs(server, slug)
    for _ in range(GAP.bit_length() + 3):  # past the room between two neighbours: the collection is renumbered
        last = order.pop()
        order.insert(1, last)
        requests.post(f"{server}/api/collections/{slug}/move", json={"item": last, "after": order[0]}, timeout=10)
    assert refs(server, slug) == order


def test_limits_answer_clearly_and_change_nothing(served):
    base, app = served()
    slug = make(base, [task_id(1)])["slug"]
    too_many = requests.post(f"{base}/api/collections/{slug}/items",
                             json={"items": [image(1, n % 3) for n in range(1001)]}, timeout=10)
    assert too_many.status_code == 413 and "1,000" in too_many.json()["error"]
    bad = requests.post(f"{base}/api/collections/{slug}/items", json={"items": [image(1, 7)]}, timeout=10)
    assert bad.status_code == 400 and "no image 7" in bad.json()["error"]
    nonsense = requests.post(f"{base}/api/collections", json={"items": ["<script>"]}, timeout=10)
    assert nonsense.status_code == 400 and "not a task ID" in nonsense.json()["error"]
    long_title = requests.post(f"{base}/api/collections", json={"title": "x" * 201, "items": []}, timeout=10)
    assert long_title.status_code == 413 and "200" in long_title.json()["error"]
    # A collection one image short of the cap: the next task (three images) would pass it.
    full = app.extensions["gallery"].collections.create(
        "Full", "", [Ref(f"{n:08x}-0000-4000-8000-{n:012x}", 0) for n in range(MAX_IMAGES - 1)], Author("a", "A"))
    over = requests.post(f"{base}/api/collections/{full.slug}/items", json={"items": [task_id(1)]}, timeout=10)
    assert over.status_code == 413 and "10,000" in over.json()["error"]
    assert requests.get(f"{base}/api/collections/{full.slug}?version=x", timeout=10).json()["image_count"] == \
        MAX_IMAGES - 1
    assert refs(base, slug) == [image(1, 0), image(1, 1), image(1, 2)]


# ---- picks and comments ---------------------------------------------------------------------------------------

def test_picks_and_comments_show_on_every_grid_and_only_authors_edit(server):
    ana, bo = browser(server, "Ana"), browser(server, "Bo")
    target = image(2, 1)
    assert ana.put(f"{server}/api/picks/{target}", timeout=10).json() == {"ref": target, "count": 1,
                                                                          "names": ["Ana"], "mine": True}
    assert bo.put(f"{server}/api/picks/{target}", timeout=10).json()["names"] == ["Ana", "Bo"]
    assert bo.delete(f"{server}/api/picks/{target}", timeout=10).json() == {"ref": target, "count": 1,
                                                                            "names": ["Ana"], "mine": False}
    note = ana.post(f"{server}/api/images/{target}/comments", json={"body": "the seed that won"}, timeout=10)
    assert note.status_code == 201 and note.json()["author"] == "Ana" and note.json()["mine"] is True
    comment_id = note.json()["id"]
    assert bo.patch(f"{server}/api/comments/{comment_id}", json={"body": "mine now"}, timeout=10).status_code == 403
    assert bo.delete(f"{server}/api/comments/{comment_id}", timeout=10).status_code == 403
    edited = ana.patch(f"{server}/api/comments/{comment_id}", json={"body": "the seed that won, by far"}, timeout=10)
    assert edited.json()["edited_at"] and edited.json()["body"] == "the seed that won, by far"
    listed = bo.get(f"{server}/api/images/{target}/comments", timeout=10).json()["comments"]
    assert [(c["author"], c["mine"]) for c in listed] == [("Ana", False)]

    # Cards everywhere carry the counts; Ana's own page says she picked it.
    gallery = ana.get(f"{server}/api/tasks/{task_id(2)}", timeout=10).json()["tasks"][0]["images"][1]
    assert (gallery["picks"], gallery["pickers"], gallery["picked_by_me"], gallery["comments"]) == \
        (1, ["Ana"], True, 1)
    recent = bo.get(f"{server}/api/recent?picks=1", timeout=10).json()["tasks"]
    assert [(task["id"], [i["index"] for i in task["images"]]) for task in recent] == [(task_id(2), [1])]
    assert bo.get(f"{server}/api/recent?sort=picks", timeout=10).json()["tasks"][0]["id"] == task_id(2)

    activity = bo.get(f"{server}/api/activity", params={"refs": task_id(2)}, timeout=10).json()
    assert activity["images"] == {target: {"picks": 1, "pickers": ["Ana"], "mine": False, "comments": 1}}
    since = activity["since"]
    assert bo.get(f"{server}/api/activity", params={"refs": task_id(2), "since": since},
                  timeout=10).json()["images"] == {}
    assert ana.delete(f"{server}/api/picks/{target}", timeout=10).status_code == 200
    later = bo.get(f"{server}/api/activity", params={"refs": f"{task_id(1)},{target}", "since": since},
                   timeout=10).json()
    assert later["images"] == {target: {"picks": 0, "pickers": [], "mine": False, "comments": 1}}
    assert ana.delete(f"{server}/api/comments/{comment_id}", timeout=10).status_code == 204


def test_picks_of_an_image_that_does_not_exist_are_404(server):
    assert requests.put(f"{server}/api/picks/{image(1, 9)}", timeout=10).status_code == 404
    assert requests.put(f"{server}/api/picks/nonsense-1", timeout=10).status_code == 400


# ---- refusals: cross-site, CSRF, content type, read-only, access key, forged names ----------------------------

# ---- pages, restarts, size -----------------------------------------------------------------------------------

def test_the_collection_page_is_the_gallery_grid_and_pages(served, monkeypatch):
    from gallery.web import collections as routes

    monkeypatch.setattr(routes, "FIRST_PAGE_ITEMS", 4)
    monkeypatch.setattr(routes, "PAGE_ITEMS", 4)
    base, _ = served()
    made = make(base, [task_id(n) for n in range(1, 4)], title="Nine lanterns")
    seen, path = [], f"/c/{made['slug']}"
    while path:
        page = BeautifulSoup(requests.get(base + path, timeout=10).text, "html.parser")
        assert page.select_one("#lightbox") and page.select_one("#toolbar #filter")
        assert page.select_one("template#card-template-done")
        seen += [card["data-key"] for card in page.select("#grid > li")]
        more = page.select_one("a#more")
        path = more["href"] if more else None
    assert seen == [image(n, i) for n in range(1, 4) for i in range(3)]
    first = BeautifulSoup(requests.get(f"{base}/c/{made['slug']}", timeout=10).text, "html.parser")
    assert first.select_one("h1").get_text() == "Nine lanterns"
    assert first.select_one('meta[property="og:title"]')["content"] == "Nine lanterns"
    assert "9 images" in first.select_one('meta[property="og:description"]')["content"]
    assert first.select_one("#grid")["data-listing-api"] == f"/api/collections/{made['slug']}"
    one = BeautifulSoup(requests.get(f"{base}/c/{made['slug']}?image={image(3, 2)}", timeout=10).text,
                        "html.parser")
    assert one.select_one("#featured")  # an image from a later page still opens from a one-image link
    missing = requests.get(f"{base}/c/NoSuchSlug12", timeout=10)
    assert missing.status_code == 404 and "<h1" in missing.text
    cards = BeautifulSoup(requests.get(f"{base}/collections", timeout=10).text, "html.parser")
    card = cards.select_one(".collection-card")
    assert len(card.select("img")) == 4 and "9 images" in card.get_text()


def test_collections_picks_and_comments_survive_a_restart(served):
    base, app = served()
    ana = browser(base, "Ana")
    slug = make(base, [task_id(1), image(2, 0)], session=ana)["slug"]
    ana.put(f"{base}/api/picks/{image(2, 0)}", timeout=10)
    ana.post(f"{base}/api/images/{image(2, 0)}/comments", json={"body": "keep this one"}, timeout=10)
    app.extensions["gallery"].close()
    again, _ = served()
    assert refs(again, slug) == [image(1, 0), image(1, 1), image(1, 2), image(2, 0)]
    same = requests.Session()
    same.cookies.update(ana.cookies)  # the same browser after the restart: the kept secret key still signs it
    assert same.get(f"{again}/api/me", timeout=10).json()["name"] == "Ana"
    marks = same.get(f"{again}/api/activity", params={"refs": image(2, 0)}, timeout=10).json()["images"]
    assert marks == {image(2, 0): {"picks": 1, "pickers": ["Ana"], "mine": True, "comments": 1}}


@pytest.fixture
def big(served):
    """A server with a collection of 10,000 images (2,500 kept tasks of four, whose images cannot be fetched)."""
    base, app = served()
    s = app.extensions["gallery"]
    records = [record(n, f"a kite number {n}", seeds=(1, 2, 3, 4)) for n in range(100, 2600)]
    for item in records:
        for n, image_record in enumerate(item["response"]["data"]):
            image_record["image_url"] = f"http://127.0.0.1:9/{item['id']}/{n}.png"  # refused at once
    s.kept.keep_many([(task_from_record(r["id"], r), r) for r in records], "import")
    info = s.collections.create("Kites", "", [Ref(r["id"], n) for r in records for n in range(4)], Author("a", "A"))
    return base, app, info.slug


@pytest.mark.slow
def test_a_collection_of_10000_images_opens_fast_and_pages_by_keyset(big):
    base, _, slug = big
    requests.get(f"{base}/c/{slug}", timeout=30)  # the first view warms the task cache, as any first view does
    began = time.perf_counter()
    page = requests.get(f"{base}/c/{slug}", headers={"Cache-Control": "no-cache"}, timeout=30)
    elapsed = time.perf_counter() - began
    soup = BeautifulSoup(page.text, "html.parser")
    assert len(soup.select("#grid > li")) == FIRST_PAGE_ITEMS
    assert "10,000 images" in soup.select_one("#summary").get_text()
    assert elapsed < 2.0, f"the first page of 10,000 images took {elapsed:.2f} s"
    assert len(refs(base, slug)) == MAX_IMAGES


@pytest.mark.slow
def test_a_collection_of_10000_images_streams_as_a_zip(big):
    base, _, slug = big
    with requests.get(f"{base}/c/{slug}/download", stream=True, timeout=120) as response:
        assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
        data = b"".join(response.iter_content(1 << 16))
    archive = zipfile.ZipFile(BytesIO(data))
    manifest = archive.read("manifest.csv").decode().splitlines()
    assert len(manifest) == MAX_IMAGES + 1  # a row per image, each saying why it could not be fetched


def test_a_script_sees_its_own_writes_as_script_and_may_delete_them(server):
    slug = make(server, [task_id(1)])["slug"]
    ana = browser(server, "Ana")
    assert ana.delete(f"{server}/api/collections/{slug}", timeout=10).status_code == 403
    assert requests.delete(f"{server}/api/collections/{slug}", timeout=10).status_code == 204
    assert requests.get(f"{server}/api/collections/{slug}", timeout=10).status_code == 404


def test_the_documented_curl_makes_a_collection(server):
    api = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    section = api[api.index("### Make a collection from a script"):]
    body = json.loads(re.search(r"-d '(\{.*?\})'", section)[1])
    response = requests.post(f"{server}/api/collections", json=body, timeout=30)
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["title"] == "Lighthouse seeds" and made["image_count"] == 2
    assert requests.get(made["url"], timeout=30).status_code == 200
