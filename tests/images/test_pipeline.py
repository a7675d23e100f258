"""The Pillow pipeline and the disk store, on images made in code and reopened with Pillow."""

import io
import subprocess
import sys
import threading
import warnings

import pytest
from PIL import Image

from gallery.images.pipeline import ThumbnailError, inspect, make_thumbnail, open_image, placeholder
from gallery.infra.disk import DiskStore
from support import ROOT

MAX = 32_000_000


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("size", "box", "expected"),
    [((1024, 1024), 384, (384, 384)), ((1344, 768), 384, (384, 219)), ((768, 1344), 384, (219, 384)),
     ((1792, 1024), 768, (768, 439)), ((200, 100), 384, (200, 100))],
)
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_thumbnail_fits_the_box_keeps_aspect_and_is_webp(make_image, size, box, expected, fmt):
    thumb = reopen(make_thumbnail(make_image(size, fmt=fmt), box, MAX))
    assert thumb.format == "WEBP"
    assert thumb.size == expected


def test_exif_orientation_is_applied(make_image):
    # Orientation 6 means "rotate 90° clockwise to display": a landscape file shows as portrait.
    data = make_image((400, 200), fmt="JPEG", orientation=6)
    thumb = reopen(make_thumbnail(data, 384, MAX))
    assert thumb.size == (192, 384)


@pytest.mark.parametrize("mode", ["P", "L", "1", "CMYK", "RGBA", "LA", "I;16"])
def test_every_mode_becomes_a_valid_thumbnail(make_image, mode):
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    thumb = reopen(make_thumbnail(make_image((300, 200), fmt=fmt, mode=mode), 128, MAX))
    assert thumb.mode in ("RGB", "RGBA")
    assert thumb.size == (128, 85)


def test_thumbnail_carries_no_metadata(make_image):
    data = make_image((300, 300), fmt="JPEG", orientation=1, icc=True)
    thumb = reopen(make_thumbnail(data, 128, MAX))
    assert "exif" not in thumb.info and "icc_profile" not in thumb.info


def test_palette_images_are_resampled_smoothly(make_image):
    # A black-and-white checkerboard shrunk smoothly turns grey; nearest-neighbour would keep black and white.
    data = make_image((256, 256), fmt="PNG", mode="P", pattern="checker")
    thumb = reopen(make_thumbnail(data, 64, MAX)).convert("L")
    low, high = thumb.getextrema()
    assert 40 < low <= high < 215


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<html>not an image</html>", "not a PNG, JPEG or WebP"),
        (b"", "not a PNG, JPEG or WebP"),
    ],
)
def test_non_images_are_refused(data, reason):
    with pytest.raises(ThumbnailError, match=reason):
        make_thumbnail(data, 128, MAX)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_formats_outside_the_allow_list_are_refused(make_image, fmt):
    with pytest.raises(ThumbnailError, match="not a PNG, JPEG or WebP"):
        make_thumbnail(make_image((64, 64), fmt=fmt), 32, MAX)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_images_are_refused(make_image, fmt):
    data = make_image((512, 512), fmt=fmt, pattern="noise")
    with pytest.raises(ThumbnailError, match="damaged"):
        inspect(data[: len(data) // 2], MAX)
    with pytest.raises(ThumbnailError, match="damaged"):
        make_thumbnail(data[: len(data) // 2], 128, MAX)


def test_pixel_cap_is_checked_before_decoding(make_image):
    data = make_image((2000, 2000), fmt="PNG", mode="1")
    with pytest.raises(ThumbnailError, match="too large"):
        make_thumbnail(data, 128, max_pixels=1_000_000)


def test_decompression_bomb_is_refused(make_image):
    # Over twice Pillow's own limit, Image.open itself refuses: that must surface as a ThumbnailError too.
    data = make_image((20_000, 20_000), fmt="PNG", mode="1")
    assert len(data) < 1_000_000
    with pytest.raises(ThumbnailError, match="too large"):
        make_thumbnail(data, 128, max_pixels=10**12)


def test_an_image_pillow_only_warns_about_is_refused_whatever_the_warning_filters(make_image):
    data = make_image((10_000, 10_000), fmt="PNG", mode="1")  # over Pillow's own limit, under twice it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as a process whose warnings are off would have it
        with pytest.raises(ThumbnailError, match="too large"):
            open_image(data, max_pixels=10**12)


def test_importing_the_pipeline_leaves_the_warning_filters_alone():
    check = ("import warnings; before = list(warnings.filters); import gallery.images.pipeline; "
             "assert warnings.filters == before, warnings.filters[0]")
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, env={"PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_placeholder_is_a_square_webp():
    image = reopen(placeholder(384))
    assert (image.format, image.size) == ("WEBP", (384, 384))


def test_store_round_trip_and_refuses_odd_keys(tmp_path):
    store = DiskStore(tmp_path)
    assert store.read("thumbs/a/0/384.webp") is None
    store.write("thumbs/a/0/384.webp", b"abc")
    assert store.read("thumbs/a/0/384.webp") == b"abc"
    for key in ("../x", "/etc/passwd", "a/../../b", "A", ""):
        with pytest.raises(ValueError):
            store.path(key)


def test_store_writes_are_atomic_under_concurrent_writers(tmp_path):
    store = DiskStore(tmp_path)
    payloads = [bytes([n]) * 200_000 for n in range(8)]
    seen = []

    def write(data):
        store.write("k", data)
        seen.append(store.read("k"))

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(data in payloads for data in seen)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
