"""Caches and HTTP: one fetch and decode per image, atomic writes, eviction, immutable responses.

Test names carry the number of the case in docs/security.md that they cover (`test_case_NN_`)."""


import threading
import time

import pytest

from flux_emulator import app as sample
from gallery.flux.models import task_from_record
from gallery.images import originals as images
from gallery.images import thumbnails as thumbnailer
from gallery.infra.disk import DiskStore
from security_helpers import DONE, LAKE, PAGE_HEADERS, make_app, together
from support import emulator_stats, set_fault


def test_case_37_twenty_requests_for_one_cold_thumbnail_fetch_and_decode_once(app, emulator, monkeypatch):
    decodes = []
    # Count every full decode, the check of a fresh original included: a cold thumbnail needs only one.
    for module, name in ((thumbnailer, "make_thumbnails"), (images, "inspect")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *args, real=real: decodes.append(1) or real(*args))
    app.test_client().get(f"/api/tasks/{DONE}")  # the task record is known; the image is cold
    set_fault(emulator, image_fault="slow", IMAGE_SLOW_SECONDS=0.3)  # so all twenty are in flight together
    statuses = together(20, lambda: app.test_client().get(f"/thumb/{DONE}/0/384").status_code)
    assert statuses == [200] * 20
    assert emulator_stats(emulator)["media_calls"] == 1
    assert len(decodes) == 1


def test_case_38_ten_concurrent_galleries_make_one_upstream_call(app, emulator):
    set_fault(emulator, "slow", SLOW_SECONDS=0.3)
    statuses = together(10, lambda: app.test_client().get(f"/tasks/{DONE},{LAKE}").status_code)
    assert statuses == [200] * 10
    assert emulator_stats(emulator)["task_calls"] == 1


def test_case_38_a_view_that_finds_the_gallery_half_kept_waits_for_the_leader(app, emulator):
    # The leader keeps its records one by one (memory, disk, Redis), so a view arriving in between finds
    # part of the gallery kept; it must still join the leader's call, not ask upstream for the rest.
    tasks = app.extensions["gallery"].tasks
    ids = list(sample.LIGHTHOUSE_IDS)
    first = tasks.client.fetch(ids[:1])[ids[0]]
    set_fault(emulator, "slow", SLOW_SECONDS=0.5)
    calls = emulator_stats(emulator)["task_calls"]
    leader = threading.Thread(target=tasks.find, args=(ids,))
    leader.start()
    while emulator_stats(emulator)["task_calls"] == calls:  # the leader's call has reached the emulator
        time.sleep(0.01)
    tasks.keep(task_from_record(ids[0], first), first)  # as the leader does first when its answer lands
    assert [task.id for task in tasks.find(ids).tasks] == ids
    leader.join()
    assert emulator_stats(emulator)["task_calls"] == calls + 1


def test_case_39_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    import os

    store = DiskStore(tmp_path)
    real_replace = os.replace

    def failing_replace(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        store.write("thumbs/a/0/384.webp", b"x" * 1000)
    monkeypatch.setattr(os, "replace", real_replace)
    assert store.read("thumbs/a/0/384.webp") is None
    assert [p.name for p in (tmp_path / "thumbs" / "a" / "0").iterdir()] == []
    store.write("thumbs/a/0/384.webp", b"ok")
    assert store.read("thumbs/a/0/384.webp") == b"ok"


def test_case_40_the_disk_cache_evicts_the_least_recently_used_past_its_cap(tmp_path):
    import os

    store = DiskStore(tmp_path, max_bytes=10_000)
    store.write("tasks/kept.json", b"t" * 5000)  # task records do not count and are never evicted
    for n in range(30):
        store.write(f"originals/t{n}/0", bytes(1000))
        os.utime(store.path(f"originals/t{n}/0"), (1_000_000 + n, 1_000_000 + n))
        if n == 5:
            store.read("originals/t0/0")  # read: recently used again
    assert store.usage() <= 10_000
    assert store.read("originals/t29/0") is not None
    assert store.read("originals/t1/0") is None
    assert store.read("tasks/kept.json") is not None


def test_case_41_thumbnails_are_immutable_with_an_etag_and_304(client):
    first = client.get(f"/thumb/{DONE}/0/384")
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable" and first.headers["ETag"]
    again = client.get(f"/thumb/{DONE}/0/384", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_case_42_failures_are_not_stored_and_not_refetched_within_a_minute(client, emulator):
    set_fault(emulator, image_fault="404")
    first = client.get(f"/thumb/{DONE}/0/384")
    assert first.status_code == 502
    assert first.headers["Cache-Control"] == "no-store" and first.headers["Expires"] == "0"
    assert client.get(f"/thumb/{DONE}/0/768").status_code == 502
    assert client.get(f"/image/{DONE}/0").status_code == 502
    assert emulator_stats(emulator)["media_calls"] == 1
    error = client.get(f"/tasks/{DONE}/nope")
    assert error.headers["Cache-Control"] == "no-store" and error.headers["Expires"] == "0"


def test_case_43_sizes_come_from_a_fixed_set_and_each_has_its_own_entry(client, app):
    assert client.get(f"/thumb/{DONE}/0/100").status_code == 404
    small, large = client.get(f"/thumb/{DONE}/0/384"), client.get(f"/thumb/{DONE}/0/768")
    assert small.headers["ETag"] != large.headers["ETag"]
    store = app.extensions["gallery"].store
    assert store.read(f"thumbs/{DONE}/0/384.webp") == small.data
    assert store.read(f"thumbs/{DONE}/0/768.webp") == large.data != small.data


def test_case_44_every_response_carries_the_security_headers(emulator, tmp_path, monkeypatch):
    app = make_app(emulator, tmp_path, RATE_LIMIT=2)
    client = app.test_client()
    app.add_url_rule("/boom", view_func=lambda: 1 / 0)
    responses = {
        "500": client.get("/boom"),  # a route of its own spends the page allowance too, so it goes first
        "html": client.get(f"/tasks/{DONE}"),
        "429": client.get(f"/tasks/{LAKE}"),
        "json": client.get("/healthz"),
        "image": client.get(f"/thumb/{DONE}/0/384"),
        "original": client.get(f"/image/{DONE}/0"),
        "404": client.get("/nowhere"),
        "static": client.get("/static/style.css"),
        "home": client.get("/"),
    }
    assert responses["429"].status_code == 429 and responses["500"].status_code == 500
    for name, response in responses.items():
        for header, value in PAGE_HEADERS.items():
            assert response.headers.get(header) == value, (name, header)
        csp = response.headers["Content-Security-Policy"]
        if response.mimetype.startswith("image/"):
            assert csp.startswith("default-src 'none'"), name
        else:
            for directive in ("default-src 'self'", "img-src 'self' data:", "object-src 'none'", "base-uri 'none'",
                              "frame-ancestors 'none'", "form-action 'self'"):
                assert directive in csp, (name, directive)
        assert "X-XSS-Protection" not in response.headers
    responses["static"].close()
