"""Error pages: a clear, generic message with a request ID; JSON for the API route; never a traceback."""

import logging
import uuid

from flask import Flask, Response, jsonify, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from gallery.flux.client import ApiError
from gallery.flux.models import BadIds
from gallery.infra.slots import Busy
from gallery.web import ratelimit
from gallery.workspace.collections import CollectionError
from gallery.workspace.cursors import BadCursor
from gallery.workspace.query import BadQuery

log = logging.getLogger(__name__)

# What a person is told for each way the Tasks API can fail, and the status the gallery answers with.
UPSTREAM = {
    "auth": (502, "The Flux API rejected this server's API token",
             "Whoever runs this gallery should check ACEDATACLOUD_API_TOKEN."),
    "rejected": (502, "The Flux API rejected the request",
                 "The request this server sent was refused. Try again, or tell whoever runs this gallery."),
    "rate_limited": (503, "The Flux API is busy", "Too many requests right now. Wait a moment, then reload."),
    "unavailable": (502, "The Flux API is not answering properly", "Try again in a minute."),
    "timeout": (504, "The Flux API took too long to answer", "Try again in a minute."),
    "bad_response": (502, "The Flux API sent an answer this gallery cannot read", "Try again in a minute."),
    "paused": (503, "The Flux API keeps failing", "This server is giving it half a minute before asking again."),
}


# The API routes of collections, picks, comments and the display name answer errors as {"error": "<message>"}:
# one string a page can show as it is.
PLAIN_ERRORS = ("/api/me", "/api/collections", "/api/picks/", "/api/images/", "/api/comments/", "/api/activity")


def wants_json() -> bool:
    """Whether the current request is for the JSON API, so any error it gets is JSON rather than an HTML page."""
    return request.path.startswith("/api/")


def plain_errors() -> bool:
    """Whether the current request's errors are {"error": "<message>"} (the routes of collections and such)."""
    return request.path.startswith(PLAIN_ERRORS)


def init_app(app: Flask) -> None:
    """Register the error handlers."""
    app.register_error_handler(BadIds, _bad_ids)
    app.register_error_handler(BadQuery, _bad_query)
    app.register_error_handler(BadCursor, _bad_cursor)
    app.register_error_handler(ApiError, _upstream)
    app.register_error_handler(Busy, _busy)
    app.register_error_handler(CollectionError, _collection_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)


def _bad_ids(error: BadIds) -> Response:
    return _page(400, "That link does not name a gallery", str(error), hint="Check the task IDs and try again.")


def _bad_query(error: ValueError) -> Response:
    return _page(400, "That search cannot be run", str(error), hint="Change the search and try again.")


def _bad_cursor(error: BadCursor) -> Response:
    return _page(400, "That page link is not one this server made", str(error), hint=None)


def _collection_error(error: CollectionError) -> Response:
    title = "Nothing here" if error.status == 404 else "That change cannot be made"
    return _page(error.status, title, str(error), hint=None)


def _csrf_error(error: CSRFError) -> Response:
    return _page(400, "That change was refused", f"{error.description} Reload the page and try again.", hint=None)


def _upstream(error: ApiError) -> Response:
    status, title, hint = UPSTREAM.get(error.kind, UPSTREAM["bad_response"])
    detail = " · ".join(part for part in (error.code, error.message) if part)
    response = _page(status, title, detail, hint=hint, trace_id=error.trace_id)
    if status == 503:
        response.headers["Retry-After"] = str(max(1, round(error.retry_after or 5)))
    return response


def _busy(busy: Busy) -> Response:
    """503 with Retry-After: every image worker or download slot is taken and the queue is full."""
    response = Response("busy with other images; retry shortly", status=503, mimetype="text/plain")
    response.headers["Retry-After"] = str(busy.retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def _http(error: HTTPException) -> Response:
    titles = {404: "Nothing here", 405: "That method is not allowed here", 413: "That request is too large",
              429: "Slow down a little"}
    title = titles.get(error.code or 500, error.name)
    response = _page(error.code or 500, title, "This address does not lead to a gallery or an image."
                     if error.code == 404 else error.description or "", hint=None)
    if isinstance(error, RateLimitExceeded):
        retry_after = ratelimit.retry_after()
    else:
        retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _unexpected(error: Exception) -> Response:
    request_id = uuid.uuid4().hex[:12]
    log.exception("unexpected error, request %s", request_id)
    return _page(500, "Something went wrong on this server", "The error has been logged.",
                 hint=f"If it keeps happening, tell whoever runs this gallery: request {request_id}.")


def page(status: int, title: str, detail: str) -> Response:
    """An error page (or JSON) for another module's refusal."""
    return _page(status, title, detail, hint=None)


def _page(status: int, title: str, detail: str, *, hint: str | None, trace_id: str | None = None) -> Response:
    """The error as an HTML page, or as JSON for the API route."""
    if plain_errors():
        response = jsonify({"error": detail or title})
    elif wants_json():
        response = jsonify({"error": {"status": status, "title": title, "detail": detail, "trace_id": trace_id}})
    else:
        response = Response(render_template("error.html", status=status, title=title, detail=detail, hint=hint,
                                            trace_id=trace_id))
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
