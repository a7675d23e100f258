"""Static files under content-hashed names (style.<hash>.css), compressed once and cached by browsers for good.

Flask-Static-Digest does this with a build step (`flask digest compile`) that writes the hashed and compressed
copies to disk; this app has no build step, so the few files are hashed and compressed in memory at start-up.
A page names each file by the hash of its bytes, so a changed file gets a new URL and an old URL never
serves new bytes: browsers may keep what they fetched for a year without asking again.
"""

import functools
import gzip
import hashlib
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import brotli
from flask import Flask, Response, current_app, request, url_for

IMMUTABLE = "public, max-age=31536000, immutable"
DIGEST_LENGTH = 12
# "style.0123456789ab.css": the name a page links to; the hash is of the file's bytes.
HASHED = re.compile(rf"(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})(?P<suffix>\.[A-Za-z0-9]+)")
# Text compresses well; images and fonts are compressed already, and a second copy of them gains nothing.
COMPRESSIBLE = ("text/", "application/javascript", "image/svg+xml", "application/json")
# Content codings in the order they are offered, best first; "identity" (as stored) is always acceptable.
CODINGS: dict[str, Callable[[bytes], bytes]] = {
    "br": lambda data: brotli.compress(data, quality=11),
    "gzip": lambda data: gzip.compress(data, compresslevel=9, mtime=0),
}


@dataclass(frozen=True)
class Asset:
    """One static file: its hashed name, its type, and its bytes in every content coding worth sending."""

    name: str
    hashed_name: str
    mimetype: str
    bodies: dict[str, bytes]  # by content coding, "identity" always among them

    @property
    def digest(self) -> str:
        return HASHED.fullmatch(self.hashed_name)["digest"]


class Assets:
    """The static files of a folder, read, hashed and compressed once; looked up by plain or hashed name."""

    def __init__(self, folder: str | Path) -> None:
        root = Path(folder)
        self._by_name: dict[str, Asset] = {}
        self._by_hashed: dict[str, Asset] = {}
        for path in sorted(root.rglob("*")) if root.is_dir() else ():
            if path.is_file() and path.suffix:  # the hash goes before the suffix, which keeps the type plain
                asset = _load(path, path.relative_to(root).as_posix())
                self._by_name[asset.name] = asset
                self._by_hashed[asset.hashed_name] = asset

    def hashed_name(self, name: str) -> str:
        """The content-hashed name of static file `name`; `name` itself when there is no such file."""
        asset = self._by_name.get(name)
        return asset.hashed_name if asset else name

    def find(self, hashed_name: str) -> Asset | None:
        """The file a hashed name stands for, or None (a plain name, or the hash of bytes no longer served)."""
        return self._by_hashed.get(hashed_name)


def _load(path: Path, name: str) -> Asset:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:DIGEST_LENGTH]
    hashed = f"{name[:-len(path.suffix)]}.{digest}{path.suffix}"
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    bodies = {"identity": data, **(_compressed(data) if mimetype.startswith(COMPRESSIBLE) else {})}
    return Asset(name=name, hashed_name=hashed, mimetype=mimetype, bodies=bodies)


@functools.lru_cache(maxsize=32)  # the slowest brotli takes ~40 ms; tests make an app each, with the same files
def _compressed(data: bytes) -> dict[str, bytes]:
    """`data` in every coding that makes it smaller."""
    return {coding: packed for coding, compress in CODINGS.items() if len(packed := compress(data)) < len(data)}


def init_app(app: Flask) -> None:
    """Hash the app's static folder and serve its hashed names from the `static` route; plain names as before."""
    assets = Assets(app.static_folder or "static")
    app.extensions["assets"] = assets
    plain = app.view_functions["static"]

    def static(filename: str) -> Response:
        asset = assets.find(filename)
        return plain(filename=filename) if asset is None else _send(asset)

    app.view_functions["static"] = static


def static_file_url(name: str) -> str:
    """The URL of static file `name` under its content-hashed name, for pages to link to."""
    return url_for("static", filename=current_app.extensions["assets"].hashed_name(name))


def _send(asset: Asset) -> Response:
    """`asset` in the best coding the client accepts, marked immutable: its URL changes when its bytes do."""
    offered = [coding for coding in CODINGS if coding in asset.bodies]
    # No Accept-Encoding at all: the bytes as stored, which every client can read.
    accepted = request.accept_encodings.best_match(offered) if offered and request.accept_encodings else None
    coding = accepted or "identity"
    response = Response(asset.bodies[coding], mimetype=asset.mimetype)
    if coding != "identity":
        response.content_encoding = coding
    if len(asset.bodies) > 1:
        response.vary.add("Accept-Encoding")
    response.set_etag(f"{asset.digest}-{coding}")
    response.headers["Cache-Control"] = IMMUTABLE
    return response.make_conditional(request)
