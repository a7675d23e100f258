"""Sharing: preview images, the zip and its manifest, link-preview text."""

import csv
import io
import json
import re
import time
import zipfile
from urllib.parse import urlsplit

import extruct
import pytest
from PIL import Image

from flux_emulator import app as sample
from gallery.export.archive import file_name, slug, stream_zip
from gallery.flux.models import Status, task_from_record
from gallery.images.previews import HEIGHT, WIDTH, Tile, contact_sheet, fitted, grid_for
from support import emulator_stats, gallery_app, set_fault

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


# ---- routes, against the emulator ------------------------------------------------------------------------




MIXED = sample.SAMPLE_GALLERIES["Mixed states"]


def opengraph(response) -> dict:
    """The page's Open Graph and Twitter tags, read by a real metadata parser."""
    html = response.get_data(as_text=True)
    (og,) = extruct.extract(html, syntaxes=["opengraph"], uniform=True)["opengraph"]
    twitter = dict(RE_META.findall(html))
    return {**og, **twitter}



RE_META = re.compile(r'<meta name="(twitter:[a-z:]+)" content="([^"]*)"')


def fetch_image(client, url: str) -> Image.Image:
    parts = urlsplit(url)
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200
    return reopen(response.data)


def test_gallery_page_unfurls_with_a_contact_sheet(client):
    ids = ",".join(sample.SAMPLE_GALLERIES["Sizes and shapes"])
    og = opengraph(client.get(f"/tasks/{ids}"))
    assert og["og:title"].startswith("13 images · a white siamese cat")
    assert og["og:description"].startswith("13 images from 9 tasks.")
    assert og["og:url"] == f"http://localhost/tasks/{ids}"
    assert og["og:image"].startswith("http://localhost/preview/")
    assert (og["og:image:width"], og["og:image:height"]) == (str(WIDTH), str(HEIGHT))
    assert og["twitter:card"] == "summary_large_image" and og["twitter:image"] == og["og:image"]
    image = fetch_image(client, og["og:image"])
    assert (image.format, image.size) == ("JPEG", (WIDTH, HEIGHT))


def test_a_title_given_with_the_link_is_the_preview_title(client):
    og = opengraph(client.get(f"/tasks/{sample.DONE_ID}?title=Cat+options+for+the+launch"))
    assert og["og:title"] == "Cat options for the launch"
    assert og["og:url"].endswith("?title=Cat+options+for+the+launch")


def test_pending_and_failed_tasks_are_drawn_in_the_contact_sheet(client):
    og = opengraph(client.get("/tasks/" + ",".join(MIXED)))
    sheet = fetch_image(client, og["og:image"]).convert("RGB")
    assert sheet.size == (WIDTH, HEIGHT)
    # Seven tiles: 4 columns × 2 rows; the second is the pending task, drawn in amber.
    red, green, blue = sheet.getpixel((300 + 150, 20))
    assert red > 230 and blue < 235


def test_the_preview_url_changes_when_a_task_finishes(client, app):
    first = opengraph(client.get(f"/tasks/{sample.PENDING_ID}"))["og:image"]
    time.sleep(1.1)
    app.extensions["gallery"].tasks.pending_ttl = 0
    second = opengraph(client.get(f"/tasks/{sample.PENDING_ID}"))["og:image"]
    assert first != second


def test_previews_are_made_once(client, emulator):
    og = opengraph(client.get(f"/tasks/{sample.LAKE_ID}"))
    fetch_image(client, og["og:image"])
    media = emulator_stats(emulator)["media_calls"]
    fetch_image(client, og["og:image"])
    assert emulator_stats(emulator)["media_calls"] == media


def test_a_preview_showing_a_broken_image_is_never_kept(client, app, emulator):
    set_fault(emulator, image_fault="404")
    og = opengraph(client.get(f"/tasks/{sample.LAKE_ID}"))
    path = urlsplit(og["og:image"])
    link = f"{path.path}?{path.query}"
    broken = client.get(link)
    assert broken.status_code == 200 and broken.headers["Cache-Control"] == "no-store"
    set_fault(emulator, image_fault=None)
    app.extensions["gallery"].originals.failures.clear()  # as if IMAGE_ERROR_TTL had passed
    mended = client.get(link)
    assert mended.headers["Cache-Control"] == "public, max-age=86400" and mended.data != broken.data


@pytest.mark.parametrize(
    ("config", "headers", "base"),
    [
        ({"PUBLIC_URL": "https://gallery.example.com/"}, {}, "https://gallery.example.com"),
        ({"PROXY_HOPS": 1}, {"X-Forwarded-Host": "team.example.org", "X-Forwarded-Proto": "https"},
         "https://team.example.org"),
        ({}, {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}, "http://localhost"),
    ],
    ids=["public-url", "trusted-proxy", "untrusted-forwarded-headers"],
)
def test_absolute_urls(emulator, tmp_path, config, headers, base):
    app = gallery_app(emulator.url, tmp_path, **config)
    og = opengraph(app.test_client().get(f"/tasks/{sample.DONE_ID}", headers=headers))
    assert og["og:url"] == f"{base}/tasks/{sample.DONE_ID}"
    assert og["og:image"].startswith(f"{base}/preview/{sample.DONE_ID}?v=")


def test_download_all_zips_the_gallery_with_a_matching_manifest(client):
    ids = [sample.MULTI_ID, sample.FLUX2_ID, sample.PENDING_ID, sample.FAILED_ID, sample.BROKEN_IMAGE_ID,
           sample.UNKNOWN_ID]
    gallery = client.get("/api/tasks/" + ",".join(ids)).get_json()
    response = client.get("/download/" + ",".join(ids))
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    rows = json.loads(archive.read("manifest.json"))
    expected = [(task["id"], task["status"]) for task in gallery["tasks"] for _ in (task["images"] or [None])]
    assert [(row["task_id"], row["status"]) for row in rows] == expected
    files = [row["file_name"] for row in rows if row["file_name"]]
    assert len(files) == 5 and len(set(files)) == 5  # four of MULTI, one of FLUX2; the broken one is listed only
    for name in files:
        assert reopen(archive.read(name)).format in ("PNG", "JPEG")
    assert any(name.endswith(".jpg") for name in files)
    broken = next(row for row in rows if row["task_id"] == sample.BROKEN_IMAGE_ID)
    assert broken["file_name"] is None and "404" in broken["error"]
    assert {row["status"] for row in rows} == {"done", "pending", "failed", "unknown"}
    errors = {row["status"]: row["error"] for row in rows if row["status"] in ("pending", "unknown")}
    assert errors == {"pending": "still generating", "unknown": "not found"}  # as the cards say it
    assert len(list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))) == len(rows)


def test_a_task_the_api_could_not_load_is_listed_in_the_zip_with_why(emulator, tmp_path):
    client = gallery_app(emulator.url, tmp_path, API_ATTEMPTS=1).test_client()
    client.get(f"/api/tasks/{sample.DONE_ID}")
    set_fault(emulator, "500")
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/download/{sample.DONE_ID},{sample.LAKE_ID}").data))
    rows = {row["task_id"]: row for row in json.loads(archive.read("manifest.json"))}
    assert rows[sample.DONE_ID]["file_name"] and rows[sample.LAKE_ID]["status"] == "unavailable"
    assert rows[sample.LAKE_ID]["error"] == "not loaded: the Flux API failed (api_error)"


def test_download_link_is_on_the_page(client):
    html = client.get(f"/tasks/{sample.DONE_ID}").get_data(as_text=True)
    assert f'href="/download/{sample.DONE_ID}"' in html


def test_download_refuses_bad_ids(client):
    assert client.get("/download/nope").status_code == 400


def test_a_one_image_link_leads_with_that_image_for_crawlers(client):
    key = f"{sample.LAKE_ID}-1"
    response = client.get(f"/tasks/{sample.DONE_ID},{sample.LAKE_ID}?image={key}")
    html = response.get_data(as_text=True)
    featured = html.index('id="featured"')
    assert featured < html.index('id="grid"')  # the named image comes before the gallery
    assert f"/thumb/{sample.LAKE_ID}/1/768" in html[featured:html.index('id="grid"')]
    og = opengraph(response)
    record = sample.task_record(sample.SAMPLES[sample.LAKE_ID], "http://x/")
    assert og["og:title"] == record["request"]["prompt"]
    assert f"Seed {record['response']['data'][1]['seed']}" in og["og:description"]
    assert og["og:url"].endswith(f"?image={key}")
    assert og["og:image"].startswith(f"http://localhost/preview/{sample.LAKE_ID}?image={key}")
    image = fetch_image(client, og["og:image"])
    assert (image.format, image.size) == ("JPEG", (WIDTH, HEIGHT))


@pytest.mark.parametrize("key", ["nope", f"{sample.LAKE_ID}-9", f"{sample.PENDING_ID}-0"])
def test_a_link_to_an_image_that_is_not_there_shows_the_gallery(client, key):
    response = client.get(f"/tasks/{sample.LAKE_ID},{sample.PENDING_ID}?image={key}")
    assert response.status_code == 200
    assert 'id="featured"' not in response.get_data(as_text=True)
    assert opengraph(response)["og:image"].startswith("http://localhost/preview/")


@pytest.mark.parametrize("query", [f"image={sample.DONE_ID}-0", f"image={sample.LAKE_ID}-7", "image=x"])
def test_image_previews_only_for_images_of_the_link(client, query):
    assert client.get(f"/preview/{sample.LAKE_ID}?{query}").status_code == 404
