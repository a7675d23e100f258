"""Pages of finished galleries rendered once per link, host and set of broken images, then served from memory."""

from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup
from flask import template_rendered

from flux_emulator import app as sample
from gallery.flux.models import task_from_record
from gallery.web.pagecache import PageCache, page_key
from support import set_fault

DONE, LAKE, PENDING = sample.DONE_ID, sample.LAKE_ID, sample.PENDING_ID


@contextmanager
def renders(app):
    """The names of the templates Flask renders inside the block (Flask's own signal, nothing patched)."""
    names = []

    def record(sender, template, context, **extra):
        names.append(template.name)

    template_rendered.connect(record, app)
    try:
        yield names
    finally:
        template_rendered.disconnect(record, app)


def done(task_id):
    return task_from_record(task_id, {"id": task_id, "request": {"prompt": "p"},
                                      "response": {"success": True, "data": [{"image_url": "https://x.test/a.png"}]}})


def test_only_a_finished_gallery_served_fresh_has_a_key():
    pending = task_from_record(PENDING, {"id": PENDING, "request": {"prompt": "p"}})
    assert page_key("/tasks/a?", "http://h/", [done(DONE)], {}, None) == ("/tasks/a?", "http://h/", (), ())
    # The grid's density (from a cookie) and image shapes learnt since draw another page of the same link.
    assert page_key("/tasks/a?", "http://h/", [done(DONE)], {}, None, ("details",)) != page_key(
        "/tasks/a?", "http://h/", [done(DONE)], {}, None, ("images",))
    assert page_key("/tasks/a?", "http://h/", [done(DONE), pending], {}, None) is None
    assert page_key("/tasks/a?", "http://h/", [done(DONE)], {}, datetime.now(UTC)) is None  # kept copies
    broken = page_key("/tasks/a?", "http://h/", [done(DONE)], {(DONE, 0): "HTTP 404"}, None)
    assert broken != page_key("/tasks/a?", "http://h/", [done(DONE)], {}, None)


def test_the_cache_keeps_the_most_recently_used_pages_within_its_bytes():
    cache = PageCache(max_bytes=30)
    for name in "abc":
        cache.put((name,), name * 10)
    cache.get(("a",))  # a is used again, so b is now the oldest
    cache.put(("d",), "d" * 10)
    assert [cache.get((name,)) is not None for name in "abcd"] == [True, False, True, True]
    assert cache.put(("e",), "e" * 31).body == b"e" * 31 and cache.get(("e",)) is None  # too large to keep
    assert cache.put(None, "x").etag == cache.put(None, "x").etag  # the validator is the content's hash


def test_a_finished_gallery_is_rendered_once(app, client):
    link = f"/tasks/{DONE},{LAKE}"
    first = client.get(link)
    with renders(app) as rendered:
        again = client.get(link)
    assert again.status_code == 200 and again.data == first.data
    assert rendered == []
    assert again.headers["Cache-Control"] == "private, no-cache"


def test_links_that_differ_get_their_own_pages(app, client):
    link = f"/tasks/{DONE},{LAKE}"
    client.get(link)
    with renders(app) as rendered:
        titled = client.get(link, query_string={"title": "Lighthouse picks"})
        one = client.get(link, query_string={"image": f"{LAKE}-0"})
        elsewhere = client.get(link, base_url="https://gallery.example.com")
    assert rendered == ["gallery.html"] * 3
    og = {name: BeautifulSoup(page.data, "html.parser").find("meta", property="og:title")["content"]
          for name, page in (("titled", titled), ("one", one))}
    assert og["titled"] == "Lighthouse picks" and og["one"] != og["titled"]
    image = BeautifulSoup(elsewhere.data, "html.parser").find("meta", property="og:image")["content"]
    assert image.startswith("https://gallery.example.com/")


def test_a_pending_gallery_is_rendered_every_time_until_it_finishes(app, client, emulator):
    set_fault(emulator, PENDING_SECONDS=0.5)
    app.extensions["gallery"].tasks.pending_ttl = 0
    link = f"/tasks/{PENDING}"
    with renders(app) as rendered:
        first = client.get(link)
        client.get(link)
    assert rendered == ["gallery.html"] * 2
    assert BeautifulSoup(first.data, "html.parser").select_one("li[data-status=pending]") is not None


def test_an_image_that_breaks_or_recovers_changes_the_page(app, client, emulator):
    link = f"/tasks/{DONE},{LAKE}"
    assert client.get(link).status_code == 200
    set_fault(emulator, image_fault="404")
    assert client.get(f"/thumb/{LAKE}/0/384").status_code == 502  # now remembered as broken
    broken = client.get(link)
    assert BeautifulSoup(broken.data, "html.parser").select_one(f"#image-{LAKE}-0.card--broken") is not None
    set_fault(emulator, image_fault=None)
    app.extensions["gallery"].originals.failures.clear()  # as if IMAGE_ERROR_TTL had passed
    mended = client.get(link)
    assert BeautifulSoup(mended.data, "html.parser").select_one(f"#image-{LAKE}-0.card--broken") is None


@pytest.mark.parametrize("encoding", ["identity", "gzip", "br"])
def test_a_reload_of_an_unchanged_page_is_a_304(client, encoding):
    link = f"/tasks/{DONE},{LAKE}"
    # The first view queues the thumbnails; once kept, their pixels give the tiles' exact shapes, a change
    # of the page (a new ETag). The reload is checked after that.
    client.get(link)
    client.application.extensions["gallery"].thumbnailer.wait_idle(30)
    first = client.get(link, headers={"Accept-Encoding": encoding})
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')  # weak: the compressed and plain bodies are the same page
    again = client.get(link, headers={"Accept-Encoding": encoding, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(link, headers={"If-None-Match": 'W/"other"'}).status_code == 200


def test_turned_off_every_view_is_rendered(emulator, tmp_path):
    from support import gallery_app

    app = gallery_app(emulator.url, tmp_path, PAGE_CACHE_BYTES=0)
    client = app.test_client()
    client.get(f"/tasks/{DONE}")
    with renders(app) as rendered:
        client.get(f"/tasks/{DONE}")
    assert rendered == ["gallery.html"]
