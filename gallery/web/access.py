"""Optional team access: with GALLERY_ACCESS_KEY set, a visitor enters the key once and gets a signed cookie."""

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, jsonify, redirect, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from gallery.settings import Settings
from gallery.web.errors import plain_errors, wants_json

bp = Blueprint("access", __name__)

COOKIE = "gallery_access"
MAX_AGE = 30 * 24 * 3600  # a teammate types the key about once a month per browser
OPEN_ENDPOINTS = frozenset({"access.form", "access.enter", "gallery.healthz", "static"})


def init_app(app: Flask, settings: Settings) -> None:
    """Require the access key on every route but the health check, when one is set."""
    key = settings.access_key
    if not key:
        return
    if not settings.secret_key:
        # Derived from the access key: stable across restarts and workers, and a new key ends every old cookie.
        app.config["SECRET_KEY"] = hmac.new(key.encode(), b"flux-gallery cookie signing", hashlib.sha256).hexdigest()
    app.register_blueprint(bp)
    app.before_request(_require_key)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="gallery-access")


def _fingerprint() -> str:
    """A short digest of the current access key, so cookies made for an older key stop working."""
    return hashlib.sha256(current_app.config["ACCESS_KEY"].encode()).hexdigest()[:16]


def _has_access() -> bool:
    """The signed access cookie of a browser, or the key itself as `Authorization: Bearer <key>` (scripts)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and given.strip():
        return hmac.compare_digest(given.strip().encode(), current_app.config["ACCESS_KEY"].encode())
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return False
    try:
        return _serializer().loads(cookie, max_age=MAX_AGE) == _fingerprint()
    except BadSignature:
        return False


def _require_key() -> Response | None:
    if request.endpoint in OPEN_ENDPOINTS or _has_access():
        return None
    if plain_errors():
        response = jsonify({"error": "This gallery needs its access key: send it as Authorization: Bearer <key>, "
                                     "or open the gallery in a browser and enter it."})
        response.status_code = 401
    elif wants_json():
        response = jsonify({"error": {"status": 401, "title": "This gallery needs its access key",
                                      "detail": "Open the gallery in a browser and enter the key.", "trace_id": None}})
        response.status_code = 401
    elif request.path.startswith(("/thumb/", "/image/")):
        response = Response("access key needed", status=401, mimetype="text/plain")
    else:
        response = _form(request.full_path.rstrip("?"), error=None, status=401)
    response.headers["Cache-Control"] = "no-store"
    return response


def _form(next_path: str, error: str | None, status: int) -> Response:
    response = Response(render_template("access.html", next=_safe_next(next_path), error=error), status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/access")
def form() -> Response:
    """The small form that asks for the access key."""
    return _form(request.args.get("next", "/"), error=None, status=200)


@bp.post("/access")
def enter() -> Response:
    """Check the key; on success set the signed cookie and go back to the page the visitor wanted."""
    given = request.form.get("key", "")
    next_path = _safe_next(request.form.get("next", "/"))
    if not hmac.compare_digest(given.encode(), current_app.config["ACCESS_KEY"].encode()):
        return _form(next_path, error="That is not this gallery's access key.", status=403)
    response = redirect(next_path, 303)
    response.set_cookie(COOKIE, _serializer().dumps(_fingerprint()), max_age=MAX_AGE, httponly=True,
                        samesite="Lax", secure=request.is_secure, path="/")
    return response


def _safe_next(path: str) -> str:
    """A path on this site only: never another host, so the form cannot be used to send people elsewhere."""
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path
