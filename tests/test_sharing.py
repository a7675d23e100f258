"""Sharing: preview images, the zip and its manifest, link-preview text."""

import csv
import io
import json
import zipfile

import pytest
from PIL import Image

from gallery.archive import file_name, slug, stream_zip
from gallery.models import Status, task_from_record
from gallery.previews import HEIGHT, WIDTH, Tile, contact_sheet, fitted, grid_for

MAX = 32_000_000
A = "2db0168c-2373-4367-8d9a-9dc778802e8a"
B = "72bdd69d-290d-4710-a6d4-60c78968865a"
C = "9f1c2a77-5b0e-4c8e-9a51-0d2f6f3e8c10"


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("count", range(1, 11))
def test_contact_sheet_is_1200_by_630_for_any_number_of_tiles(make_image, count):
    tiles = [Tile("image", make_image((300 + n * 40, 300), fmt="PNG")) for n in range(count - 1)] + [Tile("pending")]
    sheet = reopen(contact_sheet(tiles, MAX))
    assert (sheet.format, sheet.size) == ("JPEG", (WIDTH, HEIGHT))


@pytest.mark.parametrize("count", range(1, 10))
def test_grid_holds_every_tile(count):
    columns, rows = grid_for(count)
    assert columns * rows >= count


def test_status_tiles_are_drawn_in_their_colours():
    sheet = reopen(contact_sheet([Tile("pending"), Tile("failed")], MAX)).convert("RGB")
    left, right = sheet.getpixel((20, 20)), sheet.getpixel((WIDTH - 20, 20))
    assert left[0] > 240 and left[2] < 235  # warm amber
    assert right[0] > 240 and right[1] < 240  # soft red


def test_broken_image_bytes_become_a_tile_not_an_error():
    sheet = reopen(contact_sheet([Tile("image", b"not an image")], MAX))
    assert sheet.size == (WIDTH, HEIGHT)


@pytest.mark.parametrize("size", [(1024, 1024), (1344, 768), (768, 1344), (3000, 500)])
def test_one_image_is_fitted_whole(make_image, size):
    card = reopen(fitted(make_image(size, fmt="JPEG"), MAX))
    assert (card.format, card.size) == ("JPEG", (WIDTH, HEIGHT))


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [("A white cat, on a sunny windowsill!", "a-white-cat-on-a-sunny"), ("  ", "image"), (None, "image"),
     ("../../etc/passwd", "etc-passwd"), ("夕暮れの灯台", "夕暮れの灯台"), ("a" * 100, "a" * 48)],
)
def test_slug(prompt, expected):
    assert slug(prompt) == expected


def record(task_id, prompt, seeds, status="done"):
    if status == "pending":
        return {"id": task_id, "request": {"prompt": prompt}}
    if status == "failed":
        return {"id": task_id, "request": {"prompt": prompt},
                "response": {"success": False, "error": {"code": "forbidden", "message": "no"}}}
    data = [{"image_url": f"https://img.test/{task_id}/{n}.png", "seed": seed} for n, seed in enumerate(seeds)]
    return {"id": task_id, "created_at": 1736304669.7, "request": {"prompt": prompt, "size": "1:1"},
            "response": {"success": True, "data": data}}


def test_file_names_are_unique_even_for_identical_prompts_and_seeds():
    task = task_from_record(A, record(A, "same", [1, 1]))
    taken: set[str] = set()
    names = [file_name(task, image, "png", taken) for image in task.images + task.images]
    assert len(set(names)) == 4
    assert names[0] == "same_seed-1_2db0168c-0.png"


def test_zip_holds_originals_and_a_manifest_that_matches_the_gallery():
    tasks = [task_from_record(A, record(A, "a white cat", [5, 6])),
             task_from_record(B, record(B, "a lighthouse", [], "pending")),
             task_from_record(C, record(C, "bad", [], "failed")),
             task_from_record("4ebfaa8b-b7e7-4e74-a0f7-3f29d7a5d014", {})]

    def load(task, image):
        if image.index == 1:
            raise RuntimeError("the image host answered HTTP 404")
        return b"\xff\xd8\xff fake jpeg", "image/jpeg"

    archive = zipfile.ZipFile(io.BytesIO(b"".join(stream_zip(tasks, load))))
    assert archive.testzip() is None
    names = archive.namelist()
    assert names == ["a-white-cat_seed-5_2db0168c-0.jpg", "manifest.json", "manifest.csv"]
    rows = json.loads(archive.read("manifest.json"))
    assert [(r["task_id"], r["status"], r["index"]) for r in rows] == [
        (A, "done", 0), (A, "done", 1), (B, "pending", None), (C, "failed", None),
        ("4ebfaa8b-b7e7-4e74-a0f7-3f29d7a5d014", "unknown", None)]
    assert rows[0]["file_name"] == names[0] and rows[0]["seed"] == "5"
    assert rows[1]["file_name"] is None and "404" in rows[1]["error"]
    assert rows[3]["error"] == "forbidden: no"
    assert list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode()))) == [
        {key: "" if value is None else str(value) for key, value in row.items()} for row in rows]
    assert Status.DONE == rows[0]["status"]
