"""Static export: a gallery written to a folder of plain files that opens from disk or any static host."""

import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app, render_template, url_for
from flask.cli import with_appcontext
from jinja2 import pass_context
from jinja2.runtime import Context

from gallery.flux.client import ApiError
from gallery.flux.models import BadIds, Status, Task, parse_ids
from gallery.flux.tasks import Found
from gallery.images.originals import EXTENSIONS, ImageFetchError, media_type
from gallery.images.pipeline import ThumbnailError, placeholder
from gallery.services import services
from gallery.web.assets import static_file_url
from gallery.web.errors import UPSTREAM
from gallery.web.viewmodels import blank_tasks, gallery_view, plural
from gallery.workspace.collections import NotFound

STATIC_FILES = ("style.css", "noscript.css", "gallery.js", "zoom.js", "compare.js", "favicon.svg")
# Marks a folder as an export, so exporting into it again may replace it, and no other folder is ever touched.
MARKER = ".flux-gallery-export"
# Items per page of an exported collection: a page of a 10,000-image collection stays light to open.
COLLECTION_PAGE = 500
# A broken image is exported as the grey placeholder the live server answers with, so every link resolves.
BROKEN_EXTENSION = "webp"


@dataclass(frozen=True)
class ExportUrls:
    """The gallery's URLs as paths relative to the export folder's index.html."""

    extensions: Mapping[tuple[str, int], str] = field(default_factory=dict)  # by (task ID, index)

    def thumb(self, task_id: str, index: int, size: int) -> str:
        return thumb_path(task_id, index, size)

    def image(self, task_id: str, index: int) -> str:
        return image_path(task_id, index, self.extensions.get((task_id, index), BROKEN_EXTENSION))

    def gallery(self, ids: tuple[str, ...]) -> str:
        return "index.html"

    def api(self, ids: tuple[str, ...]) -> str:
        return ""  # no JSON offline: the page has nothing to poll


def thumb_path(task_id: str, index: int, size: int) -> str:
    """Where a thumbnail goes in an export, relative to its index.html."""
    return f"thumbs/{task_id}-{index}-{size}.webp"


def image_path(task_id: str, index: int, extension: str) -> str:
    """Where an original goes in an export, relative to its index.html."""
    return f"images/{task_id}-{index}.{extension}"


@dataclass(frozen=True)
class Exported:
    """What an export wrote: counts for the summary and the images that could not be had, with why."""

    folder: Path
    images: int
    tasks: int
    broken: dict[tuple[str, int], str]


def init_app(app: Flask) -> None:
    """Register the `flask export` command and the template helpers that make links relative in an export."""
    app.add_template_global(static_url)
    app.add_template_global(home_url)
    app.cli.add_command(export_command)


@pass_context
def static_url(context: Context, filename: str) -> str:
    """A static file's URL: relative inside an export, so the page opens from disk; else the app's own, named by
    the hash of the file's bytes so browsers keep it for good."""
    return f"static/{filename}" if context.get("export") else static_file_url(filename)


@pass_context
def home_url(context: Context) -> str:
    """Where the brand links: the export's own page (there is no home page offline), else the home page."""
    return "index.html" if context.get("export") else url_for("gallery.index")


@click.command("export")
@with_appcontext
@click.argument("ids", nargs=-1)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--collection", "slug", help="Export this collection (its slug, as in /c/<slug>) instead of task IDs.")
def export_command(ids: tuple[str, ...], folder: Path, slug: str | None) -> None:
    """Write the gallery of task IDS (or a --collection) to FOLDER as static files (index.html, CSS, JS,
    thumbnails, originals)."""
    if slug is not None:
        if ids:
            raise click.UsageError("Give task IDs or --collection, not both.")
        done = _export_collection(slug.strip(), folder)
        click.echo(f"Exported {plural(done.images, 'image')} from {plural(done.tasks, 'item')}"
                   f" ({len(done.broken)} broken) to {done.folder / 'index.html'}")
        return
    if not ids:
        raise click.UsageError("Give task IDs (or --collection <slug>) and a folder.")
    try:
        parsed = parse_ids(",".join(ids), services().max_ids)
    except BadIds as error:
        raise click.BadParameter(str(error), param_hint="IDS") from None
    try:
        done = export_gallery(parsed, folder)
    except ApiError as error:
        _, title, hint = UPSTREAM.get(error.kind, UPSTREAM["bad_response"])
        detail = " · ".join(part for part in (error.code, error.message) if part)
        raise click.ClickException(f"{title}: {detail}. {hint} Nothing was exported.") from None
    for (task_id, index), reason in done.broken.items():
        click.echo(f"broken: image {index} of task {task_id}: {reason}", err=True)
    click.echo(f"Exported {plural(done.images, 'image')} from {plural(done.tasks, 'task')}"
               f" ({len(done.broken)} broken) to {done.folder / 'index.html'}")


class FolderInUse(click.ClickException):
    """The export's folder holds files that are not an earlier export; nothing there is touched."""


def export_gallery(ids: tuple[str, ...], folder: Path) -> Exported:
    """Write the gallery of `ids` into `folder`, replacing an earlier export there as a whole, never other files.

    The export is built in a hidden sibling folder and moved into place at the end, so a failure half-way
    leaves whatever was there before, and a re-export leaves no files of the old one behind.
    """
    folder = folder.resolve()
    _check_folder(folder)
    found = services().tasks.find(ids)  # ApiError before anything is written
    if missing := [task for task in found.tasks if task.status is Status.UNAVAILABLE]:
        # A snapshot with holes would pass for the whole gallery: better none, and a word on why.
        raise click.ClickException(
            f"The Flux API could not be asked about {plural(len(missing), 'task')} ({missing[0].error_code}: "
            f"{missing[0].error_message}). Try again in a minute. Nothing was exported.")
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    # mkdtemp makes the folder private (0700); an export is for a web server or a teammate to read, so it gets
    # the mode any new folder would.
    building.chmod(0o777 & ~_umask())
    try:
        done = _write_gallery(ids, found, building)
        _swap_in(building, folder)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return replace(done, folder=folder)


def _export_collection(slug: str, folder: Path) -> Exported:
    """Write a collection as static pages of COLLECTION_PAGE items each, a page at a time: memory stays flat."""
    from gallery.web.collections import collection_pages

    folder = folder.resolve()
    _check_folder(folder)
    collections = services().collections
    try:
        collections.info(slug)
    except NotFound:
        raise click.ClickException(f"There is no collection {slug!r}. Nothing was exported.") from None
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    building.chmod(0o777 & ~_umask())
    images = items = 0
    broken: dict[tuple[str, int], str] = {}
    try:
        for number, (render, tasks, found, last) in enumerate(collection_pages(slug, COLLECTION_PAGE), 1):
            extensions = {}
            for task in tasks:
                if task.status is not Status.DONE:
                    continue
                for image in task.images:
                    key = (task.id, image.index)
                    try:
                        # The whole task: the thumbnailer finds an image by its index among all of them.
                        extensions[key] = _write_image(building, found[task.id], image.index)
                    except (ImageFetchError, ThumbnailError) as error:
                        broken[key] = str(error)
                        _write_placeholder(building, task, image.index)
            with current_app.test_request_context("/"):
                html = render(ExportUrls(extensions), broken, export=True, export_next=None if last else
                              collection_page_path(number + 1),
                              exported_label=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
            (building / collection_page_path(number)).write_text(html, encoding="utf-8")
            images += sum(len(task.images) for task in tasks)
            items += len(tasks)
        _write_static(building)
        (building / MARKER).write_text(f"A Flux Gallery static export of the collection {slug}; `flask export` "
                                       "replaces this folder whole when exporting into it again.\n", encoding="utf-8")
        _swap_in(building, folder)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return Exported(folder=folder, images=images, tasks=items, broken=broken)


def collection_page_path(number: int) -> str:
    """The file of page `number` of an exported collection: index.html, then page-2.html, page-3.html…"""
    return "index.html" if number == 1 else f"page-{number}.html"


def _write_static(folder: Path) -> None:
    (folder / "static").mkdir(exist_ok=True)
    for name in STATIC_FILES:
        shutil.copyfile(Path(current_app.static_folder or "static") / name, folder / "static" / name)


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_folder(folder: Path) -> None:
    """Refuse a folder that holds anything but an earlier export: an export replaces its folder whole."""
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MARKER).is_file():
        raise FolderInUse(f"{folder} already holds other files. Export into a new or empty folder; "
                          "a folder holding an earlier export is replaced.")


def _swap_in(built: Path, folder: Path) -> None:
    """Move the finished export to `folder`, after moving an earlier export (or an empty folder) aside."""
    old = None
    if folder.exists():
        _check_folder(folder)  # it may have changed while the images were fetched
        old = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.old")
        folder.rename(old)
    built.rename(folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_gallery(ids: tuple[str, ...], found: Found, folder: Path) -> Exported:
    """Write the page, thumbnails, originals and static files of a gallery into an empty `folder`."""
    s = services()
    extensions: dict[tuple[str, int], str] = {}
    broken: dict[tuple[str, int], str] = {}
    for task in found.tasks:
        if task.status is not Status.DONE:
            continue
        for image in task.images:
            key = (task.id, image.index)
            try:
                extensions[key] = _write_image(folder, task, image.index)
            except (ImageFetchError, ThumbnailError) as error:
                broken[key] = str(error)
                _write_placeholder(folder, task, image.index)
    view = gallery_view(ids, found.tasks, ExportUrls(extensions), s.thumb_sizes, broken=broken, as_of=found.as_of)
    (folder / "static").mkdir(exist_ok=True)
    for name in STATIC_FILES:
        shutil.copyfile(Path(current_app.static_folder or "static") / name, folder / "static" / name)
    # url_for needs a request even for the few links an export keeps absolute; none is served.
    with current_app.test_request_context("/"):
        html = render_template("gallery.html", page=view, blanks=blank_tasks(), sample_data=False, share=None,
                               export=True, exported_label=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    (folder / "index.html").write_text(html, encoding="utf-8")
    (folder / MARKER).write_text(f"A Flux Gallery static export of {','.join(ids)}; `flask export` replaces this "
                                 "folder whole when exporting into it again.\n", encoding="utf-8")
    return Exported(folder=folder, images=view.summary.images, tasks=view.summary.tasks, broken=broken)


def _write_image(folder: Path, task: Task, index: int) -> str:
    """Write every thumbnail and the original of one image; the original's file extension, from its bytes."""
    s = services()
    # Thumbnails first (every size from one decode): that fetches and keeps the original, read back next.
    thumbs = s.thumbnailer.all_sizes(task, index)
    original = s.originals.get(task.id, index, task.images[index].url)
    extension = EXTENSIONS.get(media_type(original), BROKEN_EXTENSION)
    for size, data in thumbs.items():
        _write(folder / thumb_path(task.id, index, size), data)
    _write(folder / image_path(task.id, index, extension), original)
    return extension


def _write_placeholder(folder: Path, task: Task, index: int) -> None:
    """The grey placeholder for every thumbnail and the original, as the live server answers for a broken image."""
    sizes = services().thumb_sizes
    for size in sizes:
        _write(folder / thumb_path(task.id, index, size), placeholder(size))
    _write(folder / image_path(task.id, index, BROKEN_EXTENSION), placeholder(max(sizes)))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
