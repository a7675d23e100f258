"""`flask export`: a gallery written as static files, run through Flask's CLI runner against the emulator."""

import io
import os
import stat
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from flux_emulator import app as sample
from gallery.export.static import ExportUrls
from gallery.web.viewmodels import EMPTY_IMAGE
from support import emulator_stats, gallery_app, reset_emulator, set_fault

SIZES = sample.SAMPLE_GALLERIES["Sizes and shapes"]
MIXED = sample.SAMPLE_GALLERIES["Mixed states"]


def export(app, ids, folder: Path):
    """Run `flask export <ids> <folder>` and return the result."""
    return app.test_cli_runner().invoke(args=["export", ",".join(ids), str(folder)])


def references(html: str) -> set[str]:
    """Every URL the page points at: links, scripts, images, srcsets and the script's data-* URLs."""
    soup = BeautifulSoup(html, "html.parser")
    found = set()
    for tag in soup.find_all(True):
        for attribute in ("href", "src", "data-full", "data-copy-url"):
            if tag.get(attribute):
                found.add(tag[attribute])
        for candidate in (tag.get("srcset") or "").split(","):
            if candidate.strip():
                found.add(candidate.split()[0])
    return found


def reopen(path: Path) -> Image.Image:
    """An image file opened with Pillow from its bytes (so no file is left open)."""
    return Image.open(io.BytesIO(path.read_bytes()))


@pytest.fixture(scope="module")
def sizes_export(emulator_server, tmp_path_factory):
    """The "Sizes and shapes" sample gallery, exported once for the tests that only read what was written."""
    reset_emulator(emulator_server)
    root = tmp_path_factory.mktemp("export")
    app = gallery_app(emulator_server.url, root / "cache", TESTING=True)
    result = export(app, SIZES, root / "out")
    assert result.exit_code == 0, result.output
    return root / "out", result


def test_the_export_is_a_folder_of_files_the_page_links_relatively(sizes_export):
    folder, result = sizes_export
    html = (folder / "index.html").read_text(encoding="utf-8")
    for url in references(html):
        if url.startswith("#") or url == EMPTY_IMAGE:
            continue  # the skip link, the lightbox's links before an image is shown, the <template>'s card image
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and not url.startswith("/"), url
        assert (folder / parts.path).is_file(), url
    for name in ("style.css", "gallery.js", "favicon.svg"):
        assert (folder / "static" / name).is_file()
    images = sum(len(sample.SAMPLES[task_id].seeds) for task_id in SIZES)
    assert f"Exported {images} images from {len(SIZES)} tasks (0 broken) to {folder / 'index.html'}" in result.output


def test_thumbnails_and_originals_reopen_as_images(sizes_export):
    folder, _ = sizes_export
    sizes = (384, 768)  # GALLERY_THUMB_SIZES by default
    originals = sorted((folder / "images").iterdir())
    assert len(originals) == sum(len(sample.SAMPLES[task_id].seeds) for task_id in SIZES)
    for path in originals:
        original = reopen(path)
        assert original.format == {"png": "PNG", "jpg": "JPEG"}[path.suffix[1:]]
        task_id, index = path.stem[:36], int(path.stem[37:])
        for size in sizes:
            thumb = reopen(folder / ExportUrls().thumb(task_id, index, size))
            assert thumb.format == "WEBP"
            assert max(thumb.size) == min(size, max(original.size))


def test_the_page_has_no_live_parts(sizes_export):
    folder, _ = sizes_export
    soup = BeautifulSoup((folder / "index.html").read_text(encoding="utf-8"), "html.parser")
    grid = soup.find(id="grid")
    assert grid["data-static"] == "1" and grid["data-api"] == ""
    assert grid["data-link"] == "index.html"
    assert "/download/" not in str(soup) and "/api/" not in str(soup)
    assert soup.find("script", src=False) is None  # no inline script, though file:// has no CSP to enforce it
    assert not soup.find("meta", property="og:image")
    assert "does not update" in soup.find("footer").get_text()


def test_the_mixed_states_gallery_exports_its_status_cards_and_the_broken_image(app, emulator, tmp_path):
    folder = tmp_path / "mixed"
    result = export(app, MIXED, folder)
    assert result.exit_code == 0, result.output
    assert f"broken: image 0 of task {sample.BROKEN_IMAGE_ID}: the image host answered HTTP 404" in result.output
    assert "(1 broken)" in result.output
    soup = BeautifulSoup((folder / "index.html").read_text(encoding="utf-8"), "html.parser")
    grid = soup.find(id="grid")
    statuses = {card["data-task"]: card["data-status"] for card in grid.find_all("li", recursive=False)}
    assert statuses[sample.PENDING_ID] == "pending"
    assert statuses[sample.FAILED_ID] == "failed" and statuses[sample.FAILED_API_ERROR_ID] == "failed"
    assert statuses[sample.UNKNOWN_ID] == "unknown"
    assert statuses[sample.DONE_ID] == "done"
    pending = grid.find(id=f"task-{sample.PENDING_ID}").get_text(" ", strip=True)
    assert "had not finished when this copy of the gallery was made" in pending
    assert not grid.select(".spinner")  # nothing in a snapshot suggests it is still working
    assert not soup.select("noscript meta")  # no reloading a file in the hope it changes
    broken = grid.find(id=f"image-{sample.BROKEN_IMAGE_ID}-0")
    assert "card--broken" in broken["class"]
    assert "Image could not be loaded: the image host answered HTTP 404" in broken.get_text(" ", strip=True)
    # The lightbox can still step onto the broken card: it shows the same grey placeholder the server would.
    assert reopen(folder / broken["data-full"]).format == "WEBP"


def test_bad_ids_exit_non_zero_naming_them_before_any_upstream_call(app, emulator, tmp_path):
    folder = tmp_path / "bad"
    result = export(app, [sample.DONE_ID, "not-a-task"], folder)
    assert result.exit_code != 0
    assert "not-a-task is not a task ID" in result.output
    assert "Traceback" not in result.output
    assert not folder.exists()
    assert emulator_stats(emulator)["task_calls"] == 0


def test_an_upstream_failure_exits_non_zero_with_a_clear_message(app, emulator, tmp_path):
    set_fault(emulator, "401")
    folder = tmp_path / "refused"
    result = export(app, SIZES, folder)
    assert result.exit_code == 1
    assert "The Flux API rejected this server's API token" in result.output
    assert "Nothing was exported" in result.output
    assert "Traceback" not in result.output
    assert not folder.exists()


def test_ids_may_come_as_several_arguments(app, tmp_path):
    folder = tmp_path / "several"
    result = app.test_cli_runner().invoke(args=["export", sample.DONE_ID, sample.LAKE_ID.upper(), str(folder)])
    assert result.exit_code == 0, result.output
    assert "Exported 3 images from 2 tasks (0 broken)" in result.output


def test_exporting_again_replaces_the_earlier_export_whole(app, emulator, tmp_path):
    folder = tmp_path / "out" / "share"
    assert export(app, SIZES, folder).exit_code == 0
    assert (folder / "thumbs" / f"{sample.LAKE_ID}-0-384.webp").is_file()
    result = export(app, MIXED, folder)
    assert result.exit_code == 0, result.output
    assert not (folder / "thumbs" / f"{sample.LAKE_ID}-0-384.webp").exists()  # nothing of the old gallery lingers
    assert (folder / "thumbs" / f"{sample.DONE_ID}-0-384.webp").is_file()
    assert sample.PENDING_ID in (folder / "index.html").read_text(encoding="utf-8")
    assert [p.name for p in folder.parent.iterdir()] == ["share"]  # no half-built or old copies left beside it


def test_a_folder_holding_other_files_is_refused_and_left_alone(app, emulator, tmp_path):
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    result = export(app, SIZES, folder)
    assert result.exit_code == 1
    assert "already holds other files" in result.output and "Traceback" not in result.output
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert emulator_stats(emulator)["task_calls"] == 0


def test_an_empty_folder_is_used(app, emulator, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    assert export(app, SIZES, folder).exit_code == 0
    assert (folder / "index.html").is_file() and (folder / ".flux-gallery-export").is_file()


def test_a_failed_export_keeps_the_earlier_one(app, emulator, tmp_path):
    folder = tmp_path / "out" / "share"
    assert export(app, SIZES, folder).exit_code == 0
    before = (folder / "index.html").read_bytes()
    set_fault(emulator, "401")
    result = export(app, MIXED, folder)
    assert result.exit_code == 1 and "Nothing was exported" in result.output
    assert (folder / "index.html").read_bytes() == before
    assert [p.name for p in folder.parent.iterdir()] == ["share"]


def test_a_gallery_the_api_could_only_partly_load_is_not_exported(emulator, tmp_path):
    app = gallery_app(emulator.url, tmp_path / "cache", API_ATTEMPTS=1)
    app.test_client().get(f"/api/tasks/{sample.DONE_ID}")  # kept, so the gallery is only partly missing
    set_fault(emulator, "500")
    folder = tmp_path / "out"
    result = export(app, [sample.DONE_ID, sample.LAKE_ID], folder)
    assert result.exit_code == 1
    assert "could not be asked about 1 task (api_error: fetch failed)" in result.output
    assert "Nothing was exported" in result.output and not folder.exists()


def test_the_export_folder_honours_the_umask_so_a_web_server_can_read_it(app, tmp_path):
    old = os.umask(0o022)
    try:
        folder = tmp_path / "public"
        assert export(app, [sample.DONE_ID], folder).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert all(stat.S_IMODE(path.stat().st_mode) & 0o004 for path in folder.rglob("*"))


def test_a_collection_exports_as_linked_static_pages(emulator, tmp_path, monkeypatch):
    from gallery.export import static
    from gallery.workspace.collections import Author, Ref

    monkeypatch.setattr(static, "COLLECTION_PAGE", 3)  # pages of three items: the export pages as a big one would
    app = gallery_app(emulator.url, tmp_path / "cache", TESTING=True)
    s = app.extensions["gallery"]
    tasks = s.tasks.get_many(SIZES)
    items = [Ref(task.id, image.index) for task in tasks for image in task.images][:5]
    info = s.collections.create("Shapes <we> liked", "", items, Author("a", "Ana"))
    result = app.test_cli_runner().invoke(args=["export", "--collection", info.slug, str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out"
    pages = [folder / "index.html", folder / "page-2.html"]
    assert sorted(path.name for path in folder.glob("*.html")) == ["index.html", "page-2.html"]
    keys = []
    for page in pages:
        html = page.read_text(encoding="utf-8")
        soup = BeautifulSoup(html, "html.parser")
        assert soup.select_one("h1").get_text() == "Shapes <we> liked"
        assert soup.select_one('meta[name="csrf-token"]') is None and "/api/" not in html
        keys += [card["data-key"] for card in soup.select("#grid > li")]
        for url in references(html):
            parts = urlsplit(url)
            if not parts.scheme and not url.startswith("#"):
                assert (folder / parts.path).is_file(), f"{page.name} points at {url}, which was not written"
    assert keys == [f"{ref.task_id}-{ref.index}" for ref in items]
    assert BeautifulSoup(pages[0].read_text(encoding="utf-8"), "html.parser").select_one("a#more")["href"] == \
        "page-2.html"
    first = next((folder / "images").glob(f"{items[0].task_id}-{items[0].index}.*"))
    assert reopen(first).size[0] > 0
    unknown = app.test_cli_runner().invoke(args=["export", "--collection", "nope", str(tmp_path / "other")])
    assert unknown.exit_code != 0 and "no collection" in unknown.output and not (tmp_path / "other").exists()
