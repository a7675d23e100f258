"""Thin routes: parse the link, ask the services, hand a view model to a template, JSON or image response."""

import logging
from collections.abc import Callable

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for
from flask_compress import Compress

from gallery.flux.models import TASK_ID, BadIds, Status, Task, parse_ids
from gallery.flux.tasks import Found
from gallery.images.originals import EXTENSIONS, ImageFetchError, media_type
from gallery.images.pipeline import PIPELINE, ThumbnailError, placeholder
from gallery.infra.slots import Busy
from gallery.services import services
from gallery.web import compare, density, identity
from gallery.web.marks import marks_for, page_variant
from gallery.web.pagecache import page_key
from gallery.web.shapes import kept_shapes
from gallery.web.sharing import share_meta
from gallery.web.urls import FlaskUrls
from gallery.web.viewmodels import GalleryView, Marks, Shapes, blank_tasks, find_image, gallery_view

log = logging.getLogger(__name__)
bp = Blueprint("gallery", __name__)
# Gallery pages and their JSON shrink about twentyfold. Only those views are compressed here: images are
# compressed already, and static files are compressed once at start-up (gallery/web/assets.py).
compress = Compress()

IMMUTABLE = "public, max-age=31536000, immutable"
PRIVATE = "private, max-age=31536000, immutable"
NO_STORE = "no-store"


@bp.get("/")
def index() -> Response | str:
    """The paste-your-IDs form; a submitted form redirects to the gallery's canonical link."""
    text = request.args.get("ids", "")
    if text.strip():
        try:
            ids = parse_ids(text, services().max_ids)
        except BadIds as error:
            return render_template("index.html", text=text, error=str(error), **_home()), 400
        return redirect(url_for("gallery.tasks", ids=",".join(ids)), 303)
    return render_template("index.html", text="", error=None, **_home())


@bp.get("/tasks/<path:ids>", merge_slashes=False)
@compress.compressed()
def tasks(ids: str) -> Response | str:
    """The gallery page; a non-canonical link (case, spaces, repeats) redirects to the canonical one."""
    s = services()
    parsed = parse_ids(ids.rstrip("/"), s.max_ids)  # chat apps and link checkers add a trailing slash
    canonical = ",".join(parsed)
    if canonical != ids:
        target = url_for("gallery.tasks", ids=canonical)
        query = request.query_string.decode("latin-1")
        return redirect(f"{target}?{query}" if query else target, 301)
    found, broken = _lookup(parsed)
    shapes = kept_shapes(found.tasks, s.store, min(s.thumb_sizes))
    marks = marks_for(found.tasks)
    shown = density.current()
    key = page_key(request.full_path, request.host_url, found.tasks, broken, found.as_of,
                   (shown, tuple(sorted(shapes.items())), page_variant(marks)))
    page = s.pages.get(key) or s.pages.put(key, _render_gallery(_view(parsed, found, broken, shapes, marks), shown))
    # A reload of an unchanged page is a 304: the browser keeps its copy, and images keep their place.
    unchanged = request.if_none_match.contains_weak(page.etag)
    response = Response(status=304) if unchanged else Response(page.body, mimetype="text/html")
    density.remember(response)
    response.set_etag(page.etag, weak=True)
    response.headers["Cache-Control"] = "private, no-cache"
    # Once the page is out, make its thumbnails ahead of the browser asking; the page never waits for them.
    response.call_on_close(lambda: s.thumbnailer.prepare(found.tasks))
    return response


@bp.get("/api/tasks/<path:ids>", merge_slashes=False)
@compress.compressed()
def api_tasks(ids: str) -> Response:
    """The gallery as JSON: the same normalised records the page shows."""
    s = services()
    parsed = parse_ids(ids.rstrip("/"), s.max_ids)
    found, broken = _lookup(parsed)
    view = _view(parsed, found, broken, kept_shapes(found.tasks, s.store, min(s.thumb_sizes)), marks_for(found.tasks))
    response = jsonify(view.to_json())
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/thumb/<task_id>/<int:index>/<int:size>")
def thumb(task_id: str, index: int, size: int) -> Response:
    """A WebP thumbnail of image `index` of a finished task, made once and then served from disk."""
    s = services()
    if size not in s.thumb_sizes:
        abort(404)
    etag = f"t-{task_id}-{index}-{size}-{PIPELINE}"
    later: list[Callable[[], object]] = []  # the image's other sizes, made once this response is sent
    response = _image_response(task_id, index, etag, size, s.thumbnailer.key(task_id, index, size),
                               lambda task: s.thumbnailer.get(task, index, size, later.append), "image/webp")
    for job in later:
        response.call_on_close(lambda job=job: _quietly(job))
    return response


@bp.get("/image/<task_id>/<int:index>")
def image(task_id: str, index: int) -> Response:
    """The original image, from the server's own store, so links outlive the upstream URL."""
    s = services()
    response = _image_response(task_id, index, f"o-{task_id}-{index}", 768, s.originals.key(task_id, index),
                               lambda task: s.originals.get(task_id, index, task.images[index].url), None)
    extension = EXTENSIONS.get(response.mimetype)
    if response.status_code == 200 and extension:
        # A name with the right extension for "Download" in the lightbox (and for saving it by hand).
        response.headers["Content-Disposition"] = f'inline; filename="flux-{task_id}-{index}.{extension}"'
    return response


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico wherever a page names no icon (the JSON route, an opened image)."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers."""
    return jsonify({"status": "ok"})


def _lookup(ids: tuple[str, ...]) -> tuple[Found, dict[tuple[str, int], str]]:
    """The tasks of a gallery, and why each image that recently could not be loaded could not."""
    s = services()
    found = s.tasks.find(ids)
    broken = {(task.id, image.index): reason for task in found.tasks for image in task.images
              if (reason := s.originals.failure(task.id, image.index))}
    return found, broken


def _view(ids: tuple[str, ...], found: Found, broken: dict[tuple[str, int], str], shapes: Shapes,
          marks: Marks | None = None) -> GalleryView:
    """The view model of a gallery, broken images marked so, picks and comments filled; the page and the JSON
    route both show it."""
    return gallery_view(ids, found.tasks, FlaskUrls(), services().thumb_sizes, broken=broken, as_of=found.as_of,
                        shapes=shapes, marks=marks, writable=identity.writable())


def _render_gallery(view: GalleryView, shown: str) -> str:
    """The gallery page's HTML in density `shown`; a one-image link (?image=<task id>-<n>) leads with that image,
    so crawlers that run no script see it."""
    featured = find_image(view, request.args.get("image"))
    comparison = compare.for_tasks(view.tasks)
    return render_template("gallery.html", page=view, blanks=blank_tasks(), featured=featured, compare=comparison,
                           sample_data=services().sample_data, share=share_meta(view, featured, comparison),
                           density=shown, density_links=density.links())


def _image_response(task_id: str, index: int, etag: str, fallback_size: int, key: str,
                    load: Callable[[Task], bytes], kind: str | None) -> Response:
    """Serve image bytes with long cache headers and 304s; a placeholder when the image is broken."""
    if not TASK_ID.fullmatch(task_id):
        abort(404)
    if request.if_none_match.contains(etag):
        return _cached(Response(status=304), etag)
    task = services().tasks.get(task_id)
    _check_image(task, index)
    if (accel := _accelerated(key, kind)) is not None:
        return _cached(accel, etag)
    try:
        data = load(task)
    except (ImageFetchError, ThumbnailError) as error:
        return _placeholder(fallback_size, str(error))
    return _cached(Response(data, mimetype=kind or media_type(data)), etag)


def _accelerated(key: str, kind: str | None) -> Response | None:
    """With GALLERY_ACCEL_REDIRECT, an empty answer that has nginx send the kept file itself; None to send bytes."""
    # Only for answers no shared cache may keep (an access key is set): nginx keeps public ones after the first
    # request and never asks again, which a redirect would prevent, as nginx caches no redirected answer.
    s = services()
    prefix = s.settings.accel_redirect
    if not prefix or not s.settings.access_key:
        return None
    path = s.store.touch(key)  # a file nginx sends is as recently used as one read here
    if path is None:
        return None
    if kind is None:
        with path.open("rb") as file:
            kind = media_type(file.read(16))  # the type from its magic numbers, as when the bytes are sent
    response = Response(status=200, mimetype=kind)
    response.headers["X-Accel-Redirect"] = prefix + key
    return response


def _check_image(task: Task, index: int) -> None:
    """404 unless image `index` of a done task exists."""
    if task.status is not Status.DONE or not 0 <= index < len(task.images):
        abort(404)


def _cached(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    # Behind an access key, no shared cache (a CDN, nginx's proxy_cache) may keep an image for others.
    response.headers["Cache-Control"] = PRIVATE if services().settings.access_key else IMMUTABLE
    return response


def _quietly(job: Callable[[], object]) -> None:
    """Run follow-up work after a response; its failure is logged, never raised into the server."""
    try:
        job()
    except (ImageFetchError, ThumbnailError, Busy):
        pass  # made on demand later, or remembered as broken
    except Exception:  # noqa: BLE001 - the response is gone; only the log can say what went wrong
        log.exception("follow-up work after a response failed")


def _placeholder(size: int, reason: str) -> Response:
    """The broken-image placeholder with the reason in a header; never cached, so a later try can succeed."""
    response = Response(placeholder(size), status=502, mimetype="image/webp")
    response.headers["Cache-Control"] = NO_STORE
    response.headers["X-Image-Error"] = reason.encode("ascii", "replace").decode()
    return response


def _home() -> dict:
    """What the home page shows besides the form: the sample galleries when running on the emulator."""
    if not services().sample_data:
        return {"samples": []}
    from flux_emulator.app import SAMPLE_GALLERIES

    return {"samples": [(title, url_for("gallery.tasks", ids=",".join(ids)))
                        for title, ids in SAMPLE_GALLERIES.items()]}
