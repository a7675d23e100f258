"""Thin routes: parse the link, ask the services, hand a view model to a template, JSON or image response."""

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for

from gallery.images import ImageFetchError, media_type
from gallery.models import TASK_ID, BadIds, Status, Task, parse_ids
from gallery.thumbnails import PIPELINE, ThumbnailError, make_thumbnail, placeholder
from gallery.viewmodels import GalleryView, blank_task, gallery_view
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

    def api(self, ids: tuple[str, ...]) -> str:
        return url_for("gallery.api_tasks", ids=",".join(ids))


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
    blanks = {str(status): blank_task(status) for status in Status}
    response = Response(render_template("gallery.html", page=view, blanks=blanks,
                                        sample_data=services().sample_data))
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
    return _image_response(task_id, index, etag, key, "image/webp", size,
                           lambda original: make_thumbnail(original, size, s.max_pixels))


@bp.get("/image/<task_id>/<int:index>")
def image(task_id: str, index: int) -> Response:
    """The original image, from the server's own store, so links outlive the upstream URL."""
    return _image_response(task_id, index, f"o-{task_id}-{index}", None, None, 768, lambda original: original)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers."""
    return jsonify({"status": "ok"})


def _gallery(ids: tuple[str, ...]) -> GalleryView:
    """The view model of a gallery of `ids`."""
    s = services()
    return gallery_view(ids, s.tasks.get_many(ids), FlaskUrls(), s.thumb_sizes)


def _image_response(task_id, index, etag, key, kind, fallback_size, transform) -> Response:
    """Serve derived image bytes with long cache headers and 304s; a placeholder when the image is broken."""
    if not TASK_ID.fullmatch(task_id):
        abort(404)
    if request.if_none_match.contains(etag):
        return _cached(Response(status=304), etag)
    s = services()
    data = s.store.read(key) if key else None
    if data is None:
        task = s.tasks.get(task_id)
        try:
            data = transform(s.originals.get(task_id, index, _image_url(task, index)))
        except (ImageFetchError, ThumbnailError) as error:
            return _placeholder(fallback_size, str(error))
        if key:
            s.store.write(key, data)
    return _cached(Response(data, mimetype=kind or media_type(data)), etag)


def _image_url(task: Task, index: int) -> str:
    """The upstream URL of image `index` of a done task, or 404 for any other."""
    if task.status is not Status.DONE or not 0 <= index < len(task.images):
        abort(404)
    url = task.images[index].url
    if url is None:
        raise ImageFetchError("the task gives no usable image address")
    return url


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


def _home() -> dict:
    """What the home page shows besides the form: the sample galleries when running on the emulator."""
    if not services().sample_data:
        return {"samples": []}
    from gallery.emulator import SAMPLE_GALLERIES

    return {"samples": [(title, url_for("gallery.tasks", ids=",".join(ids)))
                        for title, ids in SAMPLE_GALLERIES.items()]}
