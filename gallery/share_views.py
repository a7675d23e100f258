"""Sharing routes: link-preview images, download-all as a zip, and the Open Graph data of a gallery page."""

from dataclasses import replace

from flask import Blueprint, Response, current_app, request, stream_with_context, url_for

from gallery.archive import stream_zip
from gallery.images import ImageFetchError, media_type
from gallery.models import Image, Status, Task, parse_ids
from gallery.previews import Tile, contact_sheet
from gallery.sharing import ShareMeta, gallery_meta, signature
from gallery.thumbnails import ThumbnailError
from gallery.viewmodels import GalleryView, gallery_view
from gallery.views import FlaskUrls
from gallery.wiring import services

bp = Blueprint("share", __name__)

PREVIEW_TILES = 9


@bp.get("/download/<path:ids>", merge_slashes=False)
def download(ids: str) -> Response:
    """A zip of the gallery's originals plus manifest.json and manifest.csv, streamed as it is made."""
    s = services()
    parsed = parse_ids(ids, s.max_ids)
    tasks = s.tasks.get_many(parsed)

    def load(task: Task, image: Image) -> tuple[bytes, str]:
        if image.url is None:
            raise ValueError("the task gives no usable image address")
        data = s.originals.get(task.id, image.index, image.url)
        return data, media_type(data)

    count = sum(len(task.images) for task in tasks)
    response = Response(stream_with_context(stream_zip(tasks, load)), mimetype="application/zip")
    name = f"flux-gallery-{parsed[0][:8]}-{count}-images.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/preview/<path:ids>", merge_slashes=False)
def preview(ids: str) -> Response:
    """The 1200×630 contact sheet chat apps show for a gallery link, made once per gallery state."""
    s = services()
    parsed = parse_ids(ids, s.max_ids)
    tasks = s.tasks.get_many(parsed[:PREVIEW_TILES])
    view = gallery_view(parsed[:PREVIEW_TILES], tasks, FlaskUrls(), s.thumb_sizes)
    key = f"previews/{signature(view)}.jpg"
    data = s.store.read(key)
    if data is None:
        data = contact_sheet(_tiles(tasks), s.max_pixels)
        s.store.write(key, data)
    response = Response(data, mimetype="image/jpeg")
    finished = all(task.finished for task in tasks)
    # A gallery still generating gets a new preview URL when it changes; until then, chat caches may keep it.
    response.headers["Cache-Control"] = "public, max-age=86400" if finished else "public, max-age=60"
    return response


def share_meta(view: GalleryView) -> ShareMeta:
    """The Open Graph data of a gallery page, with absolute URLs."""
    ids = ",".join(view.ids[:PREVIEW_TILES])
    preview_path = url_for("share.preview", ids=ids, v=signature(_first(view)))
    return gallery_meta(view, url=absolute(request.full_path.rstrip("?")), preview_url=absolute(preview_path),
                        title=request.args.get("title"))


def absolute(path: str) -> str:
    """An absolute URL for one of our paths: GALLERY_PUBLIC_URL when set, else the request's own host."""
    base = current_app.config["PUBLIC_URL"] or request.host_url
    return base.rstrip("/") + path


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
                tiles.append(Tile("image", s.originals.get(task.id, image.index, image.url or "")))
            except (ImageFetchError, ThumbnailError):  # a broken image is drawn as such
                tiles.append(Tile("broken"))
    return tiles[:PREVIEW_TILES]
