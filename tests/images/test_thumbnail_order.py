"""Thumbnails at decode speed: JPEGs decoded no larger than asked, the asked size first, the rest after."""

import io
import math
import threading

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat

from flux_emulator import app as sample
from gallery.images.pipeline import decode, make_thumbnail, make_thumbnails
from gallery.infra.slots import Busy, Slots
from support import make_test_image

MAX = 32_000_000
DONE = sample.DONE_ID


def psnr(first: Image.Image, second: Image.Image) -> float:
    rms = ImageStat.Stat(ImageChops.difference(first.convert("RGB"), second.convert("RGB"))).rms
    mse = sum(value * value for value in rms) / len(rms)
    return 10 * math.log10(255**2 / mse) if mse else math.inf


@pytest.mark.parametrize(("size", "decoded"), [(384, (512, 512)), (200, (256, 256)), (768, (1024, 1024))])
def test_a_jpeg_is_decoded_at_the_smallest_scale_the_size_needs(size, decoded):
    data = make_test_image((1024, 1024), fmt="JPEG")
    assert decode(data, size, MAX).size == decoded


def test_a_png_is_decoded_whole():
    assert decode(make_test_image((1024, 1024)), 384, MAX).size == (1024, 1024)


def test_a_turned_jpeg_is_fitted_upright():
    # Orientation 6: a 1344×768 file shows as 768×1344; decoded at half scale, fitted by its upright shape.
    data = make_test_image((1344, 768), fmt="JPEG", orientation=6)
    made = dict(make_thumbnails(data, (384,), MAX))
    assert Image.open(io.BytesIO(made[384])).size == (219, 384)


def test_sizes_come_in_the_order_asked_and_a_later_larger_one_is_whole():
    data = make_test_image((1024, 1024), fmt="JPEG")
    made = list(make_thumbnails(data, (384, 768), MAX))
    assert [size for size, _ in made] == [384, 768]
    assert [Image.open(io.BytesIO(webp)).size for _, webp in made] == [(384, 384), (768, 768)]


def test_nothing_is_decoded_until_the_first_size_is_asked_for():
    thumbnails = make_thumbnails(b"not an image", (384,), MAX)  # a generator: the error comes with the first
    with pytest.raises(Exception, match="not a PNG"):
        next(thumbnails)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_thumbnails_are_as_close_to_lanczos_as_the_bicubic_pipeline_before(fmt):
    # Softened noise: detail at every scale, the hard case for shortcuts (bench/bench.py measures photographs).
    noisy = Image.open(io.BytesIO(make_test_image((1024, 1024), pattern="noise"))).filter(ImageFilter.GaussianBlur(2))
    out = io.BytesIO()
    noisy.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    whole = Image.open(io.BytesIO(out.getvalue())).convert("RGB")
    reference = whole.resize((384, 384), Image.Resampling.LANCZOS)
    before = io.BytesIO()  # bicubic all the way from a whole decode, encoded as ours are
    whole.resize((384, 384), Image.Resampling.BICUBIC).save(before, "WEBP", quality=82, method=2)
    ours = Image.open(io.BytesIO(make_thumbnail(out.getvalue(), 384, MAX)))
    # What a person sees is the WebP: the resize may differ from bicubic's, the encoded thumbnail may not lose.
    assert psnr(ours, reference) >= psnr(Image.open(before), reference) - 0.25


def test_the_background_job_writes_the_smallest_size_first(app, monkeypatch):
    services = app.extensions["gallery"]
    written = []
    real = services.store.write
    monkeypatch.setattr(services.store, "write", lambda key, data, ttl=None: written.append(key) or real(key, data))
    task = services.tasks.get(DONE)
    assert set(services.thumbnailer.all_sizes(task, 0)) == {384, 768}
    thumbs = [key for key in written if key.startswith("thumbs/")]
    assert thumbs == [f"thumbs/{DONE}/0/384.webp", f"thumbs/{DONE}/0/768.webp"]


def test_work_after_a_response_takes_only_a_spare_decode_slot():
    slots = Slots(1, queue=4)
    assert slots.spare(lambda: 42) == 42
    inside = threading.Event()
    release = threading.Event()
    holder = threading.Thread(target=slots.run, args=(lambda: inside.set() or release.wait(5),))
    holder.start()
    inside.wait(5)
    with pytest.raises(Busy):
        slots.spare(lambda: 42)  # a request holds the only slot: the follow-up is left undone
    release.set()
    holder.join()
