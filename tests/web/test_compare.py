"""Compare links: the view model of 2 to 4 images and their differences, the page, and its link preview."""

import io
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from flux_emulator import app as sample
from gallery.flux.models import task_from_record
from gallery.images.previews import HEIGHT, WIDTH
from gallery.web.viewmodels import compare_view, gallery_view, parse_compare

IDS = sample.LIGHTHOUSE_IDS
GALLERY = "/tasks/" + ",".join(IDS)


class Urls:
    def thumb(self, task_id, index, size):
        return f"/t/{task_id}/{index}/{size}"

    def image(self, task_id, index):
        return f"/i/{task_id}/{index}"

    def gallery(self, ids):
        return "/g"

    def api(self, ids):
        return "/a"


def views(ids=IDS):
    tasks = [task_from_record(task_id, sample.task_record(sample.SAMPLES[task_id], "http://x/")) for task_id in ids]
    return gallery_view(tuple(ids), tasks, Urls(), (384, 768)).tasks


@pytest.mark.parametrize(("value", "expected"), [
    (f"{IDS[0]}-0,{IDS[1]}-0", ((IDS[0], 0), (IDS[1], 0))),
    (f" {IDS[0].upper()}-0 , {IDS[1]}-0,{IDS[0]}-0", ((IDS[0], 0), (IDS[1], 0))),  # spaces, case, repeats
    (f"{IDS[0]}-0", ()),  # one image is not a comparison
    (",".join(f"{IDS[0]}-{n}" for n in range(5)), ()),  # five is too many
    ("nonsense,more", ()),
    (None, ()),
])
def test_a_compare_parameter_names_two_to_four_images(value, expected):
    assert parse_compare(value) == expected


def test_the_comparison_writes_out_what_differs():
    view = compare_view(f"{IDS[3]}-0,{IDS[1]}-0", views(), "/c", "/g")
    assert [pane.task.id for pane in view.panes] == [IDS[3], IDS[1]] and view.keys == (f"{IDS[3]}-0", f"{IDS[1]}-0")
    assert view.panes[1].prompt_parts == (("a lighthouse at dusk, ", False), ("watercolor", True))
    rows = {row.label: row for row in view.rows}
    assert rows["Seed"].values == ("2914406", "1760325") and rows["Seed"].differs
    assert not rows["Model"].differs and not rows["Size"].differs
    assert view.summary == "Prompt, seed, inference and created differ"
    assert view.title == "Comparing 2 images · a lighthouse at dusk under storm clouds, oil painting…"
    assert view.panes[0].natural == "1344x768" and view.shape == "ar1746"
    assert view.to_json()["rows"][0] == {"label": "Seed", "values": ["2914406", "1760325"], "differs": True}


def test_images_outside_the_gallery_are_left_out():
    assert compare_view(f"{IDS[0]}-0,{sample.DONE_ID}-0", views(), "/c", "/g") is None
    assert compare_view(f"{IDS[0]}-0,{IDS[1]}-7", views(), "/c", "/g") is None
    assert len(compare_view(f"{IDS[0]}-0,{IDS[1]}-0,{sample.DONE_ID}-0", views(), "/c", "/g").panes) == 2


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def opengraph(page: BeautifulSoup) -> dict:
    return {tag["property"]: tag["content"] for tag in page.select("meta[property^='og:']")}


def test_a_gallery_page_draws_the_comparison_its_link_names(client):
    keys = f"{IDS[0]}-0,{IDS[2]}-0"
    page = soup(client.get(f"{GALLERY}?compare={keys}&title=x"))
    section = page.select_one("section#compare")
    assert section["data-keys"] == keys
    assert [img["src"] for img in section.select("img.compare__image")] == [f"/thumb/{i}/0/768" for i in IDS[0:3:2]]
    assert [img["data-full"] for img in section.select("img.compare__image")] == [f"/image/{i}/0" for i in IDS[0:3:2]]
    assert section.select_one("#compare-close")["href"] == f"{GALLERY}?title=x"
    assert [th.get_text() for th in section.select("tr.is-different th")] == ["Prompt", "Created"]
    assert section.select_one("#compare-split")  # two images: a slider
    assert len(page.select("#grid > li")) == 4  # and the gallery below it
    og = opengraph(page)
    assert og["og:title"].startswith("Comparing 2 images · a lighthouse at dusk, oil painting")
    assert og["og:image"].endswith(f"/preview/{IDS[0]},{IDS[2]}?compare={keys}&v=1")
    assert og["og:description"].startswith("Prompt and created differ. Created 2026-11-22 19:03 UTC / ")
    assert og["og:image:alt"] == "2 images side by side"


def test_a_comparison_previews_as_the_compared_images_side_by_side(client):
    page = soup(client.get(f"{GALLERY}?compare={IDS[0]}-0,{IDS[1]}-0,{IDS[2]}-0"))
    link = urlsplit(opengraph(page)["og:image"])
    response = client.get(f"{link.path}?{link.query}")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "public, max-age=86400"
    sheet = Image.open(io.BytesIO(response.data))
    assert sheet.size == (WIDTH, HEIGHT)
    # Three tiles in a row, with the dark gap between them at a third of the width.
    assert sheet.convert("L").getpixel((WIDTH // 3 + 2, HEIGHT // 2)) < 40


@pytest.mark.parametrize("query", [f"compare={IDS[0]}-0,{sample.DONE_ID}-0", f"compare={IDS[0]}-0",
                                   f"compare={IDS[0]}-0,{IDS[1]}-3"])
def test_compare_previews_only_for_two_to_four_images_of_the_link(client, query):
    assert client.get(f"/preview/{','.join(IDS)}?{query}").status_code == 404


def test_a_link_naming_too_few_images_is_the_plain_gallery(client):
    page = soup(client.get(f"{GALLERY}?compare={IDS[0]}-0"))
    assert page.select_one("#compare") is None and len(page.select("#grid > li")) == 4


def test_recent_compares_kept_images_of_any_gallery(client):
    assert client.get(f"/api/tasks/{sample.DONE_ID},{IDS[1]}").status_code == 200  # viewing keeps them
    page = soup(client.get(f"/recent?compare={IDS[1]}-0,{sample.DONE_ID}-0"))
    assert [img["alt"] for img in page.select("#compare img")] == [
        "a lighthouse at dusk, watercolor", "a white siamese cat on a sunny windowsill, soft morning light"]
    assert page.select_one("#compare-close")["href"] == "/recent"
    assert opengraph(page)["og:title"].startswith("Comparing 2 images")
