"""The grid's density, "images" or "details": chosen with the switch above the grid (a link, so it works without
the script), remembered in a cookie the server reads, so a page is drawn in it from the first paint."""

from urllib.parse import urlencode

from flask import Response, request

from gallery.web.viewmodels import DENSITIES

COOKIE = "density"
PARAM = "density"
YEAR = 365 * 24 * 3600


def current() -> str:
    """The density this request asks for (`?density=`), else the one its cookie remembers, else "images"."""
    for value in (request.args.get(PARAM), request.cookies.get(COOKIE)):
        if value in DENSITIES:
            return value
    return DENSITIES[0]


def links() -> dict[str, str]:
    """Each density's link: this page's address with `density=` set to it."""
    args = [(name, value) for name, value in request.args.items(multi=True) if name != PARAM]
    return {density: f"{request.path}?{urlencode([*args, (PARAM, density)])}" for density in DENSITIES}


def remember(response: Response) -> Response:
    """Keep a density chosen by link in the cookie (the script writes the same cookie when it switches)."""
    chosen = request.args.get(PARAM)
    if chosen in DENSITIES:
        # Not HttpOnly: the switch's script writes this cookie too, without a page load.
        response.set_cookie(COOKIE, chosen, max_age=YEAR, samesite="Lax", secure=request.is_secure)
    return response
