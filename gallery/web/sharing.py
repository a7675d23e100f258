"""Sharing routes: link-preview images, download-all as a zip, and the Open Graph data of a gallery page."""

import hashlib
from dataclasses import replace

from flask import Blueprint, Response, abort, current_app, request, stream_with_context, url_for

from gallery.export.archive import stream_zip
from gallery.flux.models import Image, Status, Task, parse_ids
from gallery.images.originals import ImageFetchError, media_type
from gallery.images.pipeline import ThumbnailError
from gallery.images.previews import VERSION, Tile, contact_sheet, fitted
from gallery.services import services
from gallery.web.linkmeta import ShareMeta, compare_meta, gallery_meta, image_meta, signature
from gallery.web.urls import FlaskUrls
from gallery.web.viewmodels import (
    CompareView,
    GalleryView,
    ImageView,
    TaskView,
    gallery_view,
    parse_compare,
    parse_image_key,
)

bp = Blueprint("share", __name__)

PREVIEW_TILES = 9


@bp.get("/download/<path:ids>", merge_slashes=False)
def download(ids: str) -> Response:
    """A zip of the gallery's originals plus manifest.json and manifest.csv, streamed as it is made."""
    s = services()
    parsed = parse_ids(ids, s.max_ids)
    tasks = s.tasks.get_many(parsed)

    def load(task: Task, image: Image) -> tuple[bytes, str]:
        data = s.originals.get(task.id, image.index, image.url)  # ImageFetchError when there is no address
        return data, media_type(data)

    count = sum(len(task.images) for task in tasks)
    response = Response(stream_with_context(stream_zip(tasks, load)), mimetype="application/zip")
    name = f"flux-gallery-{parsed[0][:8]}-{count}-images.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/preview/<path:ids>", merge_slashes=False)
def preview(ids: str) -> Response:
    """The 1200×630 picture chat apps show for a link: a contact sheet of the gallery, or the one image that
    `?image=<task id>-<n>` names; made once per gallery state."""
    s = services()
    parsed = parse_ids(ids, s.max_ids)
    if request.args.get("image") is not None:
        return _image_preview(parsed, request.args["image"])
    if request.args.get("compare") is not None:
        return _compare_preview(parsed, request.args["compare"])
    tasks = s.tasks.get_many(parsed[:PREVIEW_TILES])
    view = gallery_view(parsed[:PREVIEW_TILES], tasks, FlaskUrls(), s.thumb_sizes)
    key = f"previews/{signature(view)}.jpg"
    data = s.store.read(key)
    if data is None:
        tiles = _tiles(tasks)
        data = contact_sheet(tiles, s.max_pixels)
        if any(tile.kind == "broken" for tile in tiles):
            # An image may be broken only for now (a slow host, a full queue): never keep a sheet that shows it.
            return _preview_response(data, cache="no-store")
        s.store.write(key, data)
    finished = all(task.finished for task in tasks)
    # A gallery still generating gets a new preview URL when it changes; until then, chat caches may keep it.
    return _preview_response(data, "public, max-age=86400" if finished else "public, max-age=60")


def share_meta(view: GalleryView, featured: tuple[TaskView, ImageView] | None = None,
               compare: CompareView | None = None) -> ShareMeta:
    """The Open Graph data of a gallery page, of the one image a link points at, or of the images it compares,
    with absolute URLs."""
    url = absolute(request.full_path.rstrip("?"))
    title = request.args.get("title")
    if compare:
        ids = ",".join(dict.fromkeys(pane.task.id for pane in compare.panes))
        preview_path = url_for("share.preview", ids=ids, compare=",".join(compare.keys), v=VERSION)
        return compare_meta(compare, url=url, preview_url=absolute(preview_path))
    if featured:
        task, image = featured
        preview_path = url_for("share.preview", ids=task.id, image=image.key, v=VERSION)
        return image_meta(task, image, url=url, preview_url=absolute(preview_path), title=title)
    ids = ",".join(view.ids[:PREVIEW_TILES])
    preview_path = url_for("share.preview", ids=ids, v=signature(_first(view)))
    return gallery_meta(view, url=url, preview_url=absolute(preview_path), title=title)


def absolute(path: str) -> str:
    """An absolute URL for one of our paths: GALLERY_PUBLIC_URL when set, else the request's own host."""
    base = current_app.config["PUBLIC_URL"] or request.host_url
    return base.rstrip("/") + path


def _image_preview(ids: tuple[str, ...], key: str) -> Response:
    """One image fitted to 1200×630; 404 unless it is an image of a task of this link."""
    s = services()
    named = parse_image_key(key)
    if named is None or named[0] not in ids:
        abort(404)
    task_id, index = named
    task = s.tasks.get(task_id)
    if task.status is not Status.DONE or not 0 <= index < len(task.images):
        abort(404)
    cache_key = f"previews/{task_id}-{index}-{VERSION}.jpg"
    data = s.store.read(cache_key)
    if data is None:
        try:
            data = fitted(s.originals.get(task_id, index, task.images[index].url), s.max_pixels)
        except (ImageFetchError, ThumbnailError):
            data = contact_sheet([Tile("broken")], s.max_pixels)
            return _preview_response(data, cache="no-store")
        s.store.write(cache_key, data)
    return _preview_response(data, cache="public, max-age=86400")


def _compare_preview(ids: tuple[str, ...], value: str) -> Response:
    """The images a compare link names, side by side (2 or 3 in a row, 4 as two by two); 404 unless 2 to 4 images
    of tasks of this link."""
    s = services()
    named = parse_compare(value)
    if not named or any(task_id not in ids for task_id, _ in named):
        abort(404)
    tasks = {task.id: task for task in s.tasks.get_many(tuple(dict.fromkeys(task_id for task_id, _ in named)))}
    if any(tasks[task_id].status is not Status.DONE or not 0 <= index < len(tasks[task_id].images)
           for task_id, index in named):
        abort(404)
    cache_key = "previews/compare-" + hashlib.sha256(repr(named).encode()).hexdigest()[:16] + f"-{VERSION}.jpg"
    data = s.store.read(cache_key)
    if data is None:
        tiles = []
        for task_id, index in named:
            try:
                tiles.append(Tile("image", s.originals.get(task_id, index, tasks[task_id].images[index].url)))
            except (ImageFetchError, ThumbnailError):
                tiles.append(Tile("broken"))
        data = contact_sheet(tiles, s.max_pixels)
        if any(tile.kind == "broken" for tile in tiles):
            return _preview_response(data, cache="no-store")
        s.store.write(cache_key, data)
    return _preview_response(data, cache="public, max-age=86400")


def _preview_response(data: bytes, cache: str) -> Response:
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = cache
    return response


def _first(view: GalleryView) -> GalleryView:
    """The part of a gallery its preview draws: the first few tasks."""
    return replace(view, ids=view.ids[:PREVIEW_TILES], tasks=view.tasks[:PREVIEW_TILES])


def _tiles(tasks: list[Task]) -> list[Tile]:
    """Contact-sheet tiles in gallery order: each image of a done task, one status tile for any other."""
    s = services()
    tiles: list[Tile] = []
    for task in tasks:
        if task.status is not Status.DONE:
            tiles.append(Tile(str(task.status)))
            continue
        for image in task.images:
            try:
                tiles.append(Tile("image", s.originals.get(task.id, image.index, image.url)))
            except (ImageFetchError, ThumbnailError):  # a broken image is drawn as such
                tiles.append(Tile("broken"))
    return tiles[:PREVIEW_TILES]
