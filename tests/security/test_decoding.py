"""Hostile image bytes: oversized, compressed, slow, mislabelled, truncated and malformed images.

Test names carry the number of the case in docs/security.md that they cover (`test_case_NN_`)."""


import io
import random
import struct
import time
import zlib

import pytest
from PIL import Image

from gallery.images.originals import media_type_header
from gallery.images.pipeline import ThumbnailError, make_thumbnail
from security_helpers import DONE, LAKE, inject, make_app, record_with, soup
from support import set_fault


def test_case_24_a_huge_content_length_is_refused_before_the_body(client, emulator):
    set_fault(emulator, image_fault="big_length")
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "larger" in response.headers["X-Image-Error"]


def test_case_25_a_chunked_body_over_the_cap_is_cut_off_while_streaming(emulator, tmp_path):
    app = make_app(emulator, tmp_path, MAX_IMAGE_BYTES=512 * 1024)
    set_fault(emulator, image_fault="huge")
    response = app.test_client().get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "larger" in response.headers["X-Image-Error"]
    assert app.extensions["gallery"].store.read(f"originals/{DONE}/0") is None


def test_case_26_a_gzip_bomb_is_refused_without_inflating(client, emulator):
    set_fault(emulator, image_fault="gzip_bomb")
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "compressed" in response.headers["X-Image-Error"]


@pytest.mark.parametrize("fault", ["not_image", "smuggled_type", "svg", "no_type"])
def test_case_27_only_one_exact_image_content_type_is_accepted(client, emulator, fault):
    set_fault(emulator, image_fault=fault)
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "not a PNG, JPEG or WebP" in response.headers["X-Image-Error"]


@pytest.mark.parametrize(("header", "expected"), [
    ("image/png", "image/png"), ("IMAGE/PNG; charset=binary", "image/png"), ("image/png, text/html", None),
    ("image/png,text/html", None), ("", None), (None, None), ("image/svg+xml", "image/svg+xml"),
])
def test_case_27_content_type_is_parsed_strictly(header, expected):
    assert media_type_header(header) == expected


def test_case_28_a_dripping_host_hits_the_total_deadline(emulator, tmp_path):
    app = make_app(emulator, tmp_path, IMAGE_TIMEOUT=0.6)
    set_fault(emulator, image_fault="drip", DRIP_SECONDS=0.05)
    started = time.monotonic()
    response = app.test_client().get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "in time" in response.headers["X-Image-Error"]
    assert time.monotonic() - started < 2.0


def test_case_29_a_host_that_never_answers_times_out_and_the_page_still_renders(emulator, tmp_path):
    app = make_app(emulator, tmp_path, IMAGE_TIMEOUT=0.4)
    client = app.test_client()
    set_fault(emulator, image_fault="hang", HANG_SECONDS=3.0)
    started = time.monotonic()
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "in time" in response.headers["X-Image-Error"]
    assert time.monotonic() - started < 1.5
    set_fault(emulator, image_fault=None)
    assert client.get(f"/thumb/{LAKE}/0/384").status_code == 200
    page = client.get(f"/tasks/{DONE},{LAKE}")
    assert page.status_code == 200
    assert len(soup(page).select("li.card--image img")) == 2  # LAKE's two images
    assert "could not be loaded" in soup(page).select_one(f"#image-{DONE}-0").text


def test_case_29_the_silence_allowed_before_and_between_bytes_is_a_setting(emulator, tmp_path):
    set_fault(emulator, image_fault="slow", IMAGE_SLOW_SECONDS=1.5)  # silent for 1.5 s, then the whole image
    impatient = make_app(emulator, tmp_path / "impatient", IMAGE_TIMEOUT=10.0, IMAGE_READ_TIMEOUT=0.2)
    started = time.monotonic()
    response = impatient.test_client().get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "in time" in response.headers["X-Image-Error"]
    assert time.monotonic() - started < 1.2  # cut off by the silence, well inside the 10 s total
    patient = make_app(emulator, tmp_path / "patient", IMAGE_TIMEOUT=10.0, IMAGE_READ_TIMEOUT=5.0)
    assert patient.test_client().get(f"/thumb/{DONE}/0/384").status_code == 200


def test_case_30_a_body_shorter_than_its_length_is_an_error_and_not_kept(client, app, emulator):
    set_fault(emulator, image_fault="short_body")
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502
    assert app.extensions["gallery"].store.read(f"originals/{DONE}/0") is None
    assert app.extensions["gallery"].store.read(f"thumbs/{DONE}/0/384.webp") is None


def test_case_31_a_truncated_png_is_a_placeholder_and_not_kept(client, app, emulator):
    set_fault(emulator, image_fault="truncated")
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "damaged" in response.headers["X-Image-Error"]
    assert app.extensions["gallery"].store.read(f"originals/{DONE}/0") is None


def _png_claiming(side: int) -> bytes:
    """A tiny PNG whose header claims side×side pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [10_000, 20_000])
def test_case_32_a_tiny_file_claiming_huge_dimensions_is_refused(side):
    data = _png_claiming(side)
    assert len(data) < 100
    with pytest.raises(ThumbnailError, match="too large"):
        make_thumbnail(data, 384, 32_000_000)


@pytest.mark.parametrize("fmt", ["GIF", "TIFF", "BMP", "ICO"])
def test_case_33_other_formats_labelled_png_become_a_placeholder(app, client, httpserver, fmt):
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(out, fmt)
    httpserver.expect_request("/x.png").respond_with_data(out.getvalue(), content_type="image/png")
    inject(app, DONE, record_with(image_url=httpserver.url_for("/x.png")))
    response = client.get(f"/thumb/{DONE}/0/384")
    assert response.status_code == 502 and "not a PNG, JPEG or WebP" in response.headers["X-Image-Error"]


def test_case_33_eps_bytes_are_never_handed_to_ghostscript():
    with pytest.raises(ThumbnailError):
        make_thumbnail(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", 384, 32_000_000)


def test_case_34_orientation_is_applied_and_junk_exif_does_not_crash(make_image):
    rotated = Image.open(io.BytesIO(make_thumbnail(make_image((80, 40), "JPEG", orientation=6), 384, 10**7)))
    assert rotated.size[0] < rotated.size[1]
    out = io.BytesIO()
    Image.new("RGB", (40, 30)).save(out, "JPEG", exif=b"Exif\0\0" + bytes(random.Random(3).randbytes(60_000)))
    Image.open(io.BytesIO(make_thumbnail(out.getvalue(), 64, 10**7))).load()


@pytest.mark.parametrize(("mode", "fmt"), [("CMYK", "JPEG"), ("P", "PNG"), ("I;16", "PNG"), ("RGBA", "WEBP")])
def test_case_35_unusual_modes_become_clean_thumbnails(make_image, mode, fmt):
    thumb = Image.open(io.BytesIO(make_thumbnail(make_image((60, 40), fmt, mode=mode, icc=mode != "I;16"),
                                                 32, 10**7)))
    assert thumb.format == "WEBP" and thumb.size == (32, 21)
    assert not thumb.info.get("exif") and not thumb.info.get("icc_profile")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_case_36_mutated_images_raise_only_the_domain_error(make_image, fmt):
    seed = make_image((48, 32), fmt)
    rng = random.Random(fmt)
    for _ in range(150):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        try:
            make_thumbnail(bytes(data), 32, 10**6)
        except ThumbnailError:
            pass
