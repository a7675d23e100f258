"""Who is who without accounts: a display name and a random author id in one signed cookie, and the app's key.

A browser's name and author id live in the `gallery_name` cookie, signed with SECRET_KEY: a visitor can choose
any name (it is a label, not a login) but cannot forge someone else's author id, which is what "mine" means for
comments and picks. Scripts send no cookie; their writes carry the name given as "by" and the author id
"script".
"""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, current_app, g, request, session
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeSerializer

from gallery.settings import Settings
from gallery.web import access, density
from gallery.workspace.collections import SCRIPT, Author, clean_name

COOKIE = "gallery_name"
YEAR = 365 * 24 * 3600
ANONYMOUS = "Anonymous"  # a browser's writes before its teammate has given a name
SECRET_FILE = "secret_key"


@dataclass(frozen=True)
class Viewer:
    """The person looking at a page: their name (None until given), author id, and whether writes are on."""

    name: str | None
    author_id: str | None
    writable: bool

    @property
    def csrf_token(self) -> str:
        """The token forms and scripts send back with each write (made on first use, kept in the session)."""
        return generate_csrf() if self.writable else ""

    def key(self) -> tuple:
        """What a cached page depends on for this viewer: their picks and name, and the token it carries."""
        if not self.writable:
            return ()
        # The session's own token, not a signed copy: a signed copy carries the second it was made, so keying on
        # it would render every page anew each second. A cached copy's token stays valid (no time limit).
        generate_csrf()
        return (self.author_id, self.name, session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")))


def init_app(app: Flask, settings: Settings) -> None:
    """Make sure cookies can be signed (and stay valid over restarts), and give templates the viewer."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _kept_secret(Path(app.instance_path))
    app.after_request(_issue_cookie)
    app.context_processor(lambda: {"viewer": viewer()})


def _kept_secret(folder: Path) -> str:
    """The instance folder's own secret key, made on first start (mode 0600: only this user may read it)."""
    path = folder / SECRET_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        # O_EXCL: when gunicorn's workers start together, one writes the key and the others read it.
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip() or key
    with os.fdopen(handle, "w", encoding="ascii") as file:
        file.write(key)
    return key


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="gallery-name")


def writable() -> bool:
    return not current_app.config.get("READ_ONLY")


def viewer() -> Viewer:
    """The current request's viewer, from its name cookie (a forged or unsigned one counts as none)."""
    if "viewer" not in g:
        name = author_id = None
        cookie = request.cookies.get(COOKIE)
        if cookie:
            try:
                data = _serializer().loads(cookie)
                author_id = str(data["a"])
                name = data.get("n")
            except (BadSignature, KeyError, TypeError, AttributeError):
                name = author_id = None
        g.viewer = Viewer(name=name, author_id=author_id, writable=writable())
    return g.viewer


def has_our_cookies() -> bool:
    """Whether the request carries any cookie this app sets: a browser that has been here, not a script.

    A request with none of them holds no ambient credential, so it cannot be a forged request on someone's
    behalf; it is exempt from the CSRF token (its JSON content type still forces a CORS preflight, never granted).
    """
    ours = {COOKIE, access.COOKIE, density.COOKIE, current_app.config.get("SESSION_COOKIE_NAME", "session"),
            "workspace_notice_seen"}
    return any(name in request.cookies for name in ours)


def author(by: object = None) -> Author:
    """Who the current write is by: the browser's name and author id (one is made if it has none), or for a
    script the name given as "by" (default "script") and the author id "script"."""
    if not has_our_cookies():
        return Author(SCRIPT, clean_name(by) if by not in (None, "") else SCRIPT)
    current = viewer()
    if current.author_id is None:
        set_name(None)
        current = viewer()
    return Author(current.author_id or SCRIPT, current.name or ANONYMOUS)


def set_name(name: str | None) -> Viewer:
    """Give the current browser `name` (None: keep its name), keeping its author id or making one; the cookie is
    sent with the response."""
    current = viewer()
    chosen = Viewer(name=name if name is not None else current.name,
                    author_id=current.author_id or secrets.token_hex(12), writable=current.writable)
    g.viewer = chosen
    g.issue_name_cookie = True
    return chosen


def _issue_cookie(response: Response) -> Response:
    if g.get("issue_name_cookie"):
        current = viewer()
        value = _serializer().dumps({"n": current.name, "a": current.author_id})
        response.set_cookie(COOKIE, value, max_age=YEAR, httponly=True, samesite="Lax", secure=request.is_secure)
    return response
