"""Write protection in one place: CSRF (Flask-WTF), cross-site origins, read-only mode, JSON bodies and their size.

Every request that is not GET, HEAD or OPTIONS passes through `guard` before its view, in this order:
1. an `Origin` naming another site is refused (403), whatever else the request holds;
2. with GALLERY_READ_ONLY, a write answers 403 "This gallery is read-only.";
3. a JSON API write must say `Content-Type: application/json` (else 415), which no cross-site form can send,
   and may carry up to MAX_JSON_BYTES;
4. a request carrying any cookie of ours (a browser) must carry the CSRF token (`X-CSRFToken` header or the
   `csrf_token` form field); a request with none of our cookies (a script) has no ambient credential to abuse.
The access key, when set, is checked before all of this (gallery/web/access.py): scripts send it as a bearer.
"""

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, request
from flask_wtf.csrf import CSRFProtect

from gallery.web import identity
from gallery.web.errors import wants_json

csrf = CSRFProtect()

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_JSON_BYTES = 256 * 1024  # 1,000 refs of about 40 characters fit four times over
READ_ONLY = "This gallery is read-only."
# Posts that are not the team's writes: the Flux API's callback (it proves itself with its secret path) and the
# access-key form (it is how a browser gets in; it holds no cookie yet and changes nothing stored).
NOT_WRITES = frozenset({"hooks.flux_callback", "access.enter"})


def init_app(app: Flask) -> None:
    """Turn CSRF checking on for every non-GET route, through `guard`."""
    # Checked in `guard`, not on every request by the extension, so scripts without cookies can be told apart.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # The token lives as long as the session cookie: a page kept by the browser (a 304) still carries a good one.
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    # Pages send no Referer (Referrer-Policy: no-referrer), which the strict HTTPS check would require; the
    # Origin check below stands in for it.
    app.config["WTF_CSRF_SSL_STRICT"] = False
    # The session cookie holds the token's secret: never sent along with another site's requests but links.
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    csrf.init_app(app)
    app.before_request(guard)


def is_write() -> bool:
    """Whether the current request is one of the team's writes (collections, picks, comments, the name)."""
    return request.method not in SAFE_METHODS and request.endpoint not in NOT_WRITES and request.endpoint is not None


def guard() -> Response | None:
    """Refuse a write that is cross-site, read-only, not JSON where JSON is due, or without its CSRF token."""
    if not is_write():
        return None
    origin = request.headers.get("Origin")
    if origin and origin != "null" and not _same_origin(origin):
        return refuse(403, "Cross-site requests cannot change this gallery.")
    if current_app.config.get("READ_ONLY"):
        return refuse(403, READ_ONLY)
    if wants_json():
        request.max_content_length = MAX_JSON_BYTES
        # A body (or a declared type) must be JSON: no cross-site form can send that without a CORS preflight.
        if (request.content_length or request.mimetype) and request.mimetype != "application/json":
            return refuse(415, "Send JSON, with Content-Type: application/json.")
    if identity.has_our_cookies():
        csrf.protect()  # CSRFError (400) when the token is missing or wrong
    return None


def _same_origin(origin: str) -> bool:
    """Whether an Origin header names this server (its public address, or the host the request came to)."""
    parts = urlsplit(origin)
    mine = {urlsplit(request.host_url)[:2]}
    if public := current_app.config.get("PUBLIC_URL"):
        mine.add(urlsplit(public)[:2])
    return (parts.scheme, parts.netloc) in mine


def refuse(status: int, message: str) -> Response:
    """A refusal as JSON `{"error": …}` for the API, as a short page for a form."""
    if wants_json():
        response = jsonify({"error": message})
    else:
        from gallery.web.errors import page

        response = page(status, "That change was refused", message)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
