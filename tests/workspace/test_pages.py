"""Recent and search as pages and JSON: the grid, the cursor, the Older link, the notice, limits and the key."""

import pytest
from bs4 import BeautifulSoup

from flux_emulator import app as sample
from gallery.web import workspace
from support import gallery_app
from workspace_helpers import keep, record, task_id

EVERYTHING = ",".join(sample.SAMPLE_GALLERIES["Everything"])


@pytest.fixture
def many(kept, monkeypatch):
    """Eleven kept tasks, and pages of four, so Recent has three pages."""
    monkeypatch.setattr(workspace, "PAGE_TASKS", 4)
    keep(kept, *[record(n, f"a paper lantern number {n}") for n in range(1, 12)])
    return kept


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def card_tasks(page: BeautifulSoup) -> list[str]:
    return list(dict.fromkeys(card["data-task"] for card in page.select("#grid > li")))


def test_recent_pages_through_every_kept_task_without_javascript(workspace_app, many):
    client = workspace_app.test_client()
    seen, path = [], "/recent"
    while path:
        page = soup(client.get(path))
        seen += card_tasks(page)
        older = page.select_one("a#more")
        path = older["href"] if older else None
    assert seen == [task_id(n) for n in range(11, 0, -1)]


def test_recent_json_has_the_gallery_tasks_and_the_next_page(workspace_app, many):
    client = workspace_app.test_client()
    seen, url = [], "/api/recent"
    while url:
        body = client.get(url).get_json()
        assert set(body) >= {"tasks", "next", "next_url"}
        assert all({"id", "status", "images", "prompt"} <= set(task) for task in body["tasks"])
        seen += [task["id"] for task in body["tasks"]]
        url = body["next_url"]
        assert (url is None) == (body["next"] is None)
    assert seen == [task_id(n) for n in range(11, 0, -1)]


def test_the_page_grid_has_every_gallery_feature(workspace_app):
    client = workspace_app.test_client()
    assert client.get(f"/api/tasks/{EVERYTHING}").status_code == 200  # viewing keeps them
    page = soup(client.get("/recent"))
    assert page.select_one("#grid[data-api]") and page.select_one("#toolbar #filter")
    assert page.select_one("#lightbox") and page.select_one("template#card-template-done")
    download = page.select_one('a[href^="/download/"]')
    assert download and set(download["href"].removeprefix("/download/").split(",")) == set(card_tasks(page))


def test_search_keeps_the_query_in_the_address_and_the_box(workspace_app, many):
    page = soup(workspace_app.test_client().get("/search?q=lantern%20number"))
    assert page.select_one("#search-page-q")["value"] == "lantern number"
    assert page.title.get_text().startswith("Search: lantern number")
    assert page.select_one("[data-copy-url]")["data-copy-url"].endswith("/search?q=lantern%20number")
    assert len(card_tasks(page)) == 4 and "cursor=" in page.select_one("a#more")["href"]
    assert "q=lantern" in page.select_one("a#more")["href"]


def test_every_page_has_a_search_box(workspace_app):
    page = soup(workspace_app.test_client().get(f"/tasks/{sample.DONE_ID}"))
    form = page.select_one("form.site-search")
    assert form["action"] == "/search" and form.select_one("input[name=q]")


@pytest.mark.parametrize("path", ["/search?q=seed:abc", "/api/search?q=before:soon", "/api/recent?cursor=abc"])
def test_a_bad_query_or_cursor_is_a_clear_400(workspace_app, path):
    response = workspace_app.test_client().get(path)
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.get_json()["error"]["status"] == 400


def test_markup_in_a_prompt_or_query_is_only_text(workspace_app, kept):
    keep(kept, record(1, '<img src=x onerror=alert(1)> lantern'))
    html = workspace_app.test_client().get('/search?q="><script>alert(1)</script>').get_data(as_text=True)
    assert "<script>alert(1)" not in html
    html = workspace_app.test_client().get("/recent").get_data(as_text=True)
    assert "<img src=x" not in html


def test_the_privacy_notice_shows_the_first_time_only(workspace_app):
    client = workspace_app.test_client()
    first = client.get("/recent")
    assert soup(first).select_one("#workspace-notice") and "workspace_notice_seen" in first.headers["Set-Cookie"]
    assert soup(client.get("/search?q=x")).select_one("#workspace-notice") is None


def test_recent_search_and_the_hook_are_rate_limited(emulator, tmp_path):
    app = gallery_app(emulator.url, tmp_path / "cache", RATE_LIMIT=1, CALLBACK_SECRET="s3cret")
    client = app.test_client()
    assert [client.get("/search?q=a").status_code, client.get("/recent").status_code,
            client.get("/api/search?q=a").status_code] == [200, 429, 429]
    assert client.post("/hooks/flux/s3cret", json={}).status_code == 429


def test_with_an_access_key_recent_and_search_need_it(emulator, tmp_path):
    client = gallery_app(emulator.url, tmp_path / "cache", ACCESS_KEY="team-key").test_client()
    assert client.get("/recent").status_code == 401
    assert client.get("/api/search?q=a").status_code == 401


def walk_json(client, url: str) -> list[str]:
    """Every task ID a listing's JSON pages hold, following `next_url` to the end."""
    seen = []
    while url:
        body = client.get(url).get_json()
        seen += [task["id"] for task in body["tasks"]]
        url = body["next_url"]
    return seen


def test_listings_sort_by_oldest_and_by_seed_on_the_server(workspace_app, kept, monkeypatch):
    monkeypatch.setattr(workspace, "PAGE_TASKS", 2)  # JSON pages of 8: two of them
    seeds = {1: (90,), 2: (7,), 3: (), 4: (1000,), 5: (7, 8), 6: (35,), 7: (123456789012345678901,), 8: (5,),
             9: (64,)}
    keep(kept, *[record(n, f"a paper lantern number {n}", seeds=seeds[n], failed=not seeds[n]) for n in seeds])
    client = workspace_app.test_client()
    assert walk_json(client, "/api/recent?sort=oldest") == [task_id(n) for n in range(1, 10)]
    assert walk_json(client, "/api/recent") == [task_id(n) for n in range(9, 0, -1)]
    # Seeds in numeric order however long, ties newest first; a task without a seed (a failed one) last.
    assert walk_json(client, "/api/recent?sort=seed") == [task_id(n) for n in (8, 5, 2, 6, 9, 1, 4, 7, 3)]
    assert walk_json(client, "/api/search?q=lantern&sort=oldest") == [task_id(n) for n in range(1, 10)]
    assert walk_json(client, "/api/recent?sort=sideways") == walk_json(client, "/api/recent")  # unknown: ignored
    page = soup(client.get("/recent?sort=oldest"))
    assert page.select_one("#sort option[selected]")["value"] == "oldest"
    assert "sort=oldest" in page.select_one("a#more")["href"] and "sort=oldest" in page.select_one("#grid")["data-next"]


def test_the_first_page_is_a_screenful_and_the_script_pages_in_larger_ones(workspace_app, kept):
    keep(kept, *[record(n, f"a paper lantern number {n}") for n in range(1, 301)])
    client = workspace_app.test_client()
    page = soup(client.get("/recent"))
    assert len(card_tasks(page)) == workspace.FIRST_PAGE_TASKS
    grid = page.select_one("#grid")
    assert grid["data-listing"] == "recent" and grid["data-listing-api"] == "/api/recent"
    body = client.get(grid["data-next"]).get_json()
    assert len(body["tasks"]) == workspace.PAGE_TASKS * workspace.JSON_PAGES
    older = soup(client.get(page.select_one("a#more")["href"]))  # without the script: pages of PAGE_TASKS
    assert len(card_tasks(older)) == workspace.PAGE_TASKS


def test_a_page_of_recent_is_drawn_once_until_its_tasks_change(workspace_app, kept):
    keep(kept, *[record(n, f"a paper lantern number {n}") for n in range(1, 4)])
    client = workspace_app.test_client()
    client.get("/recent")  # the first visit says what Recent shows; the next ones do not
    first = client.get("/recent")
    again = client.get("/recent", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304  # a reload costs no rendering and no bytes
    keep(kept, record(4, "a paper lantern number 4"))
    changed = client.get("/recent", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and task_id(4) in card_tasks(soup(changed))
