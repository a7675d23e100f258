"""The image-first grid's geometry: ratio classes in step with style.css, and shapes from sizes and kept files."""

import re
from pathlib import Path

from flux_emulator import app as sample
from gallery.flux.models import task_from_record
from gallery.web.layout import RATIOS, ROW_HEIGHT, ratio_bucket, ratio_class, ratio_css
from gallery.web.viewmodels import EAGER_IMAGES, gallery_view

ROOT = Path(__file__).resolve().parents[2]
STYLE = (ROOT / "static" / "style.css").read_text(encoding="utf-8")


class Urls:
    def thumb(self, task_id, index, size):
        return f"/t/{task_id}/{index}/{size}"

    def image(self, task_id, index):
        return f"/i/{task_id}/{index}"

    def gallery(self, ids):
        return "/g/" + ",".join(ids)

    def api(self, ids):
        return "/a/" + ",".join(ids)


def test_the_stylesheet_has_every_ratio_class_and_the_row_height():
    assert ratio_css() in STYLE, "static/style.css must end with layout.ratio_css()"
    assert f"--row: {ROW_HEIGHT};" in STYLE
    assert len(re.findall(r"^\.ar\d+ \{ --ar: [\d.]+; \}$", STYLE, re.M)) == len(RATIOS)


def test_a_tile_is_within_half_a_percent_of_any_shape_from_1_4_to_4_1():
    for width, height in ((1, 1), (16, 9), (9, 16), (1344, 768), (3, 2), (21, 9), (1, 4), (4, 1), (1792, 1024)):
        assert abs(ratio_bucket(width, height) / (width / height) - 1) <= 0.005, (width, height)
    assert ratio_class(16, 9) == "ar1781" and ratio_class(1, 1) == "ar1000"
    assert ratio_bucket(10, 1) == RATIOS[-1] and ratio_bucket(1, 10) == RATIOS[0]  # panoramas get the widest


def test_shapes_come_from_the_pixel_size_then_the_kept_image_then_the_ratio_then_square():
    ids = (sample.LAKE_ID, sample.FLUX2_ID, sample.NO_SIZE_ID, sample.SEED_STRING_ID)
    tasks = [task_from_record(task_id, sample.task_record(sample.SAMPLES[task_id], "http://x/")) for task_id in ids]
    plain = {task.id: task.images[0] for task in gallery_view(ids, tasks, Urls(), (384, 768)).tasks}
    assert plain[sample.LAKE_ID].shape == ratio_class(1344, 768)  # pixels, exactly
    assert plain[sample.FLUX2_ID].shape == ratio_class(16, 9)  # a ratio, until the image is kept
    assert plain[sample.NO_SIZE_ID].shape == "ar1000"  # nothing known: square
    tall = plain[sample.SEED_STRING_ID]
    assert (tall.width, tall.height) == (219, 384)
    # A tall image's thumbnails are narrower than their size: srcset says their real width.
    assert tall.thumb_srcset.endswith("384 219w, /t/" + sample.SEED_STRING_ID + "/0/768 439w")

    shapes = {(sample.FLUX2_ID, 0): (1344, 768), (sample.NO_SIZE_ID, 0): (768, 1024), (sample.LAKE_ID, 0): (1, 1)}
    known = {task.id: task.images[0] for task in gallery_view(ids, tasks, Urls(), (384,), shapes=shapes).tasks}
    assert known[sample.FLUX2_ID].shape == ratio_class(1344, 768)
    assert known[sample.NO_SIZE_ID].shape == ratio_class(3, 4)
    assert known[sample.LAKE_ID].shape == ratio_class(1344, 768)  # a size in pixels is never second-guessed


def test_the_first_screenful_loads_first_and_cards_without_images_have_their_tasks_shape():
    ids = sample.SAMPLE_GALLERIES["Everything"] + tuple(sample.synthetic_id(n) for n in range(1, 11))
    tasks = [task_from_record(task_id, sample.task_record(sample.SAMPLES[task_id], "http://x/",
                                                          settled=task_id != sample.PENDING_ID)) for task_id in ids]
    cards = gallery_view(ids, tasks, Urls(), (384,)).cards
    images = [card for card in cards if card.image]
    first = min(EAGER_IMAGES, len(images) - 2)
    assert [card.eager for card in images[:first]] == [True] * first and not images[-1].eager
    pending = next(card for card in cards if card.task.id == sample.PENDING_ID)
    assert pending.image is None and pending.task.shape == ratio_class(16, 9)
