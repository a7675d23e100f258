"""Browser-facing hardening: the security headers every response carries, set in one place."""

from flask import Flask, Response, request

# No inline script or style anywhere: the page's JavaScript and CSS are files served from this origin.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
# An image opened on its own can run nothing at all (camo's and go-camo's policy for proxied images).
IMAGE_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


def init_app(app: Flask) -> None:
    """Add the headers to every response the app sends, errors and static files included."""
    app.after_request(secure)


def secure(response: Response) -> Response:
    """Set the security headers on `response`."""
    headers = response.headers
    is_image = response.mimetype.startswith("image/")
    headers["Content-Security-Policy"] = IMAGE_CSP if is_image else PAGE_CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"  # gallery links name task IDs; they stay on this site
    headers["X-Frame-Options"] = "DENY"  # frame-ancestors for browsers that predate it
    headers["X-Robots-Tag"] = "noindex, nofollow"  # galleries are for teams, not search engines
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.is_secure:  # only meaningful, and only honoured, over HTTPS
        headers["Strict-Transport-Security"] = "max-age=31536000"
    if "no-store" in headers.get("Cache-Control", ""):
        headers["Expires"] = "0"
    return response
