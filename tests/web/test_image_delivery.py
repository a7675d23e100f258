"""Image routes: a cold thumbnail's other sizes made after the response, kept images handed to nginx."""

import io
import os
import threading

from PIL import Image

from flux_emulator import app as sample
from gallery.images import thumbnails as thumbnailer
from gallery.infra.disk import DiskStore
from support import gallery_app

DONE, LAKE = sample.DONE_ID, sample.LAKE_ID
KEY = "team-key-7"


def keyed_client(emulator, tmp_path, **config):
    """A client of a gallery behind an access key, already let in."""
    app = gallery_app(emulator.url, tmp_path / "cache", ACCESS_KEY=KEY, **config)
    client = app.test_client()
    assert client.post("/access", data={"key": KEY, "next": "/"}).status_code == 303
    client.get(f"/api/tasks/{DONE},{LAKE}")
    return app, client


def test_a_cold_request_makes_its_size_first_and_the_others_after_the_response(app, monkeypatch):
    decodes = []
    real = thumbnailer.make_thumbnails
    monkeypatch.setattr(thumbnailer, "make_thumbnails", lambda *args: decodes.append(args[1]) or real(*args))
    store = app.extensions["gallery"].store
    client = app.test_client()
    client.get(f"/api/tasks/{DONE}")
    with client.get(f"/thumb/{DONE}/0/384") as response:
        assert response.status_code == 200
        assert Image.open(io.BytesIO(response.data)).size == (384, 384)
        assert not store.path(f"thumbs/{DONE}/0/768.webp").exists()  # not made while the browser waited
    assert store.path(f"thumbs/{DONE}/0/768.webp").exists()  # made once the response was closed
    assert decodes == [(384, 768)]  # from one decode
    assert client.get(f"/thumb/{DONE}/0/768").status_code == 200
    assert decodes == [(384, 768)]


def test_behind_an_access_key_a_kept_thumbnail_is_sent_by_nginx(emulator, tmp_path):
    app, client = keyed_client(emulator, tmp_path, ACCEL_REDIRECT="/_cache/")
    cold = client.get(f"/thumb/{DONE}/0/384")
    assert cold.status_code == 200 and len(cold.data) > 0  # made just now: the bytes are at hand, so sent
    assert "X-Accel-Redirect" not in cold.headers
    warm = client.get(f"/thumb/{DONE}/0/384")
    assert warm.status_code == 200 and warm.data == b""
    assert warm.headers["X-Accel-Redirect"] == f"/_cache/thumbs/{DONE}/0/384.webp"
    assert warm.mimetype == "image/webp"
    assert warm.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert warm.headers["ETag"] == cold.headers["ETag"]
    kept = app.extensions["gallery"].store.path(f"thumbs/{DONE}/0/384.webp")
    assert kept.read_bytes() == cold.data  # what nginx will send is what the app sent


def test_behind_an_access_key_a_kept_original_is_sent_by_nginx_with_its_type_and_name(emulator, tmp_path):
    _, client = keyed_client(emulator, tmp_path, ACCEL_REDIRECT="/_cache/")
    assert client.get(f"/image/{LAKE}/1").status_code == 200
    warm = client.get(f"/image/{LAKE}/1")
    assert warm.data == b"" and warm.headers["X-Accel-Redirect"] == f"/_cache/originals/{LAKE}/1"
    assert warm.mimetype == "image/png"  # from the file's first bytes, as when the app sends them
    assert warm.headers["Content-Disposition"] == f'inline; filename="flux-{LAKE}-1.png"'


def test_the_checks_come_before_the_redirect(emulator, tmp_path):
    app, client = keyed_client(emulator, tmp_path, ACCEL_REDIRECT="/_cache/")
    client.get(f"/thumb/{DONE}/0/384")
    stranger = app.test_client()
    refused = stranger.get(f"/thumb/{DONE}/0/384")
    assert refused.status_code == 401 and "X-Accel-Redirect" not in refused.headers
    for path in (f"/thumb/{DONE}/1/384", f"/thumb/{DONE}/0/100", f"/thumb/{sample.PENDING_ID}/0/384"):
        response = client.get(path)
        assert response.status_code == 404 and "X-Accel-Redirect" not in response.headers


def test_public_images_are_sent_whole_so_nginx_can_keep_them(client):
    client.get(f"/thumb/{DONE}/0/384")
    warm = client.get(f"/thumb/{DONE}/0/384")
    assert "X-Accel-Redirect" not in warm.headers and Image.open(io.BytesIO(warm.data)).format == "WEBP"
    assert warm.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_with_the_setting_public_images_are_still_sent_whole(emulator, tmp_path):
    client = gallery_app(emulator.url, tmp_path / "cache", ACCEL_REDIRECT="/_cache/").test_client()
    client.get(f"/thumb/{DONE}/0/384")
    warm = client.get(f"/thumb/{DONE}/0/384")
    assert "X-Accel-Redirect" not in warm.headers and len(warm.data) > 0


def test_touch_marks_a_kept_file_used_and_finds_no_missing_one(tmp_path):
    store = DiskStore(tmp_path)
    assert store.touch("thumbs/a/0/384.webp") is None
    store.write("thumbs/a/0/384.webp", b"abc")
    path = store.path("thumbs/a/0/384.webp")
    before = path.stat().st_mtime_ns
    os.utime(path, ns=(before - 10**9, before - 10**9))
    assert store.touch("thumbs/a/0/384.webp") == path
    assert path.stat().st_mtime_ns >= before


def test_under_load_the_other_sizes_are_left_to_be_made_when_asked(emulator, tmp_path):
    app = gallery_app(emulator.url, tmp_path / "cache", THUMB_WORKERS=2)
    services = app.extensions["gallery"]
    client = app.test_client()
    client.get(f"/api/tasks/{DONE}")
    release = threading.Event()
    busy = threading.Thread(target=services.slots.run, args=(release.wait,))  # another request decoding
    busy.start()
    try:
        with client.get(f"/thumb/{DONE}/0/384") as response:
            assert response.status_code == 200
        # No decoded image held for later while others decode: the larger size waits until it is asked for.
        assert not services.store.path(f"thumbs/{DONE}/0/768.webp").exists()
    finally:
        release.set()
        busy.join()
    assert client.get(f"/thumb/{DONE}/0/768").status_code == 200
