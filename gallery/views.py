"""Thin routes: parse the link, ask the services, hand a view model to a template, JSON or image response."""

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import TooManyRequests

from gallery.images import ImageFetchError, media_type
from gallery.models import TASK_ID, BadIds, Status, Task, parse_ids
from gallery.ratelimit import retry_after_header
from gallery.slots import Busy
from gallery.thumbnails import PIPELINE, ThumbnailError, make_thumbnail, placeholder
from gallery.viewmodels import GalleryView, gallery_view
from gallery.wiring import services

bp = Blueprint("gallery", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"
NO_STORE = "no-store"


class FlaskUrls:
    """The gallery's own URLs, built by url_for for the view models."""

    def thumb(self, task_id: str, index: int, size: int) -> str:
        return url_for("gallery.thumb", task_id=task_id, index=index, size=size)

    def image(self, task_id: str, index: int) -> str:
        return url_for("gallery.image", task_id=task_id, index=index)

    def gallery(self, ids: tuple[str, ...]) -> str:
        return url_for("gallery.tasks", ids=",".join(ids))


@bp.before_request
def rate_limit() -> None:
    """One client may spend only so much: pages and JSON, and images, each have a per-minute allowance."""
    limiter = services().limits.get(request.endpoint or "")
    if limiter is None:
        return
    wait = limiter.hit(request.remote_addr or "unknown")  # the proxy's address unless PROXY_HOPS trusts one hop
    if wait is not None:
        raise TooManyRequests("Too many requests from this address. Wait a moment, then reload.",
                              retry_after=int(retry_after_header(wait)))


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
def tasks(ids: str) -> Response | str:
    """The gallery page; a non-canonical link (case, spaces, repeats) redirects to the canonical one."""
    parsed = parse_ids(ids, services().max_ids)
    canonical = ",".join(parsed)
    if canonical != ids:
        target = url_for("gallery.tasks", ids=canonical)
        query = request.query_string.decode("latin-1")
        return redirect(f"{target}?{query}" if query else target, 301)
    view = _gallery(parsed)
    from gallery.share_views import share_meta  # the sharing blueprint builds on this one

    response = Response(render_template("gallery.html", page=view, sample_data=services().sample_data,
                                        share=share_meta(view)))
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/api/tasks/<path:ids>", merge_slashes=False)
def api_tasks(ids: str) -> Response:
    """The gallery as JSON: the same normalised records the page shows."""
    view = _gallery(parse_ids(ids, services().max_ids))
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
    key = f"thumbs/{task_id}/{index}/{size}.webp"
    return _image_response(task_id, index, etag, key, size, lambda original: make_thumbnail(original, size,
                                                                                             s.max_pixels))


@bp.get("/image/<task_id>/<int:index>")
def image(task_id: str, index: int) -> Response:
    """The original image, from the server's own store, so links outlive the upstream URL."""
    return _image_response(task_id, index, f"o-{task_id}-{index}", None, 768, None)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers."""
    return jsonify({"status": "ok"})


def _gallery(ids: tuple[str, ...]) -> GalleryView:
    """The view model of a gallery of `ids`, with the images the server knows to be broken marked so."""
    s = services()
    found = s.tasks.find(ids)
    broken = {(task.id, image.index): reason for task in found.tasks for image in task.images
              if (reason := s.originals.failure(task.id, image.index))}
    return gallery_view(ids, found.tasks, FlaskUrls(), s.thumb_sizes, broken=broken, as_of=found.as_of)


def _image_response(task_id, index, etag, key, fallback_size, transform) -> Response:
    """Serve image bytes with long cache headers and 304s; a placeholder when the image is broken.

    With `key` and `transform`, the bytes are derived from the original once (one fetch, one decode however
    many ask at once) and kept under `key`; without, the original itself is served.
    """
    if not TASK_ID.fullmatch(task_id):
        abort(404)
    if request.if_none_match.contains(etag):
        return _cached(Response(status=304), etag)
    s = services()
    data = s.store.read(key) if key else None
    if data is None:
        url = _image_url(s.tasks.get(task_id), index)
        try:
            if key is None:
                data = s.originals.get(task_id, index, url)
            else:
                data = s.coalescer.do(key, lambda: _derive(task_id, index, url, key, transform))
        except (ImageFetchError, ThumbnailError) as error:
            return _placeholder(fallback_size, str(error))
        except Busy as busy:
            return _busy(busy)
    kind = "image/webp" if key else media_type(data)
    return _cached(Response(data, mimetype=kind), etag)


def _derive(task_id: str, index: int, url: str | None, key: str, transform) -> bytes:
    """Make and keep the derived image under `key`, decoding in a bounded slot; failures are remembered."""
    s = services()
    data = s.store.read(key)  # a request just ahead of this one may have made it
    if data is not None:
        return data
    original = s.originals.get(task_id, index, url)
    try:
        data = s.slots.run(lambda: transform(original))
    except ThumbnailError as error:
        s.originals.remember_failure(task_id, index, str(error))
        raise
    s.store.write(key, data)
    return data


def _image_url(task: Task, index: int) -> str | None:
    """The upstream URL of image `index` of a done task (None when unusable), or 404 for any other."""
    if task.status is not Status.DONE or not 0 <= index < len(task.images):
        abort(404)
    return task.images[index].url


def _cached(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


def _placeholder(size: int, reason: str) -> Response:
    """The broken-image placeholder with the reason in a header; never cached, so a later try can succeed."""
    response = Response(placeholder(size), status=502, mimetype="image/webp")
    response.headers["Cache-Control"] = NO_STORE
    response.headers["X-Image-Error"] = reason.encode("ascii", "replace").decode()
    return response


def _busy(busy: Busy) -> Response:
    """503 with Retry-After: the thumbnail workers are all busy and the queue is full."""
    response = Response("busy making thumbnails; retry shortly", status=503, mimetype="text/plain")
    response.headers["Retry-After"] = str(busy.retry_after)
    response.headers["Cache-Control"] = NO_STORE
    return response


def _home() -> dict:
    """What the home page shows besides the form: the sample galleries when running on the emulator."""
    if not services().sample_data:
        return {"samples": []}
    from gallery.emulator import SAMPLE_GALLERIES

    return {"samples": [(title, url_for("gallery.tasks", ids=",".join(ids)))
                        for title, ids in SAMPLE_GALLERIES.items()]}
