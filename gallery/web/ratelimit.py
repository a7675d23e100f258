"""Per-client rate limits, app-wide, with Flask-Limiter: one visitor cannot spend the team's API quota."""

import math
import time
from functools import partial

from flask import Flask, current_app, request
from flask_limiter import ApplicationLimit, Limiter
from flask_limiter.util import get_remote_address

from gallery.settings import Settings

# A moving window: at most N requests in any 60 seconds. No burst of 2N across a window's edge (as a fixed window
# allows), an exact count, and a Retry-After that says when the oldest request leaves the window. It keeps one
# timestamp per request per client for a minute: with the defaults at most 660 per client.
STRATEGY = "moving-window"
# Every route spends one of three allowances unless it is open: images spend IMAGE_RATE_LIMIT, the team's writes
# WRITE_RATE_LIMIT, every other route (galleries, JSON, zips, link previews, the access form's answer) RATE_LIMIT.
# So a route added later is limited unless someone decides otherwise.
# Never limited: the health check, the favicon redirect, the paste-your-IDs form and the access form itself
# (Flask-Limiter never limits static files). None of them reaches the upstream or an image.
OPEN = frozenset({"gallery.healthz", "gallery.favicon", "gallery.index", "access.form"})
IMAGES = frozenset({"gallery.thumb", "gallery.image"})
# Posts that are not the team's writes keep to the pages allowance: the Flux callback and the access form.
NOT_WRITES = frozenset({"hooks.flux_callback", "access.enter"})
READS = frozenset({"GET", "HEAD", "OPTIONS"})
MESSAGE = "Too many requests from this address. Wait a moment, then reload."
EXTENSION = "gallery.limiter"


def allowance(endpoint: str | None, method: str = "GET") -> str | None:
    """Which allowance a route spends: "images", "writes" (collections, picks, comments, the display name),
    "pages", or None for an open one."""
    if not endpoint or endpoint in OPEN or endpoint == "static" or endpoint.endswith(".static"):
        return None
    if endpoint in IMAGES:
        return "images"
    return "writes" if method not in READS and endpoint not in NOT_WRITES else "pages"


def _spares(name: str) -> bool:
    """Whether the current request is exempt from the allowance called `name`."""
    return allowance(request.endpoint, request.method) != name


def init_app(app: Flask, settings: Settings, redis_pool: object | None = None) -> Limiter:
    """Limit every route of `app`; counts live in Redis when a connection pool to it is given, else in memory."""
    limits = [ApplicationLimit(f"{per_minute}/minute", scope=name, exempt_when=partial(_spares, name),
                               error_message=MESSAGE)
              for name, per_minute in (("pages", settings.rate_limit), ("images", settings.image_rate_limit),
                                       ("writes", settings.write_rate_limit))
              if per_minute > 0]
    if redis_pool is None:
        storage: dict = {"storage_uri": "memory://"}
    else:
        # The app's own pool (short timeouts, health checks), whatever form its URL takes; the URI only picks
        # limits' Redis storage. If Redis fails, each process counts in its own memory until it is back.
        storage = {"storage_uri": "redis://", "in_memory_fallback_enabled": True,
                   "storage_options": {"connection_pool": redis_pool, "key_prefix": "fluxgallery:limits"}}
    # The key is request.remote_addr: the proxy's address unless PROXY_HOPS trusts one hop of X-Forwarded-For.
    limiter = Limiter(get_remote_address, application_limits=limits, strategy=STRATEGY, headers_enabled=False,
                      swallow_errors=True, **storage)
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    return limiter


def retry_after() -> int:
    """Whole seconds until the limit the current request broke lets one more request through, at least 1."""
    breached = current_app.extensions[EXTENSION].current_limit
    try:
        # window.reset_time, not reset_at: that one is rounded up a second more, which would say 61 for a minute.
        seconds = breached.window.reset_time - time.time() if breached is not None else 60
    except Exception:  # noqa: BLE001 - Redis failing just now must not turn this 429 into a 500
        seconds = 60
    return max(1, math.ceil(seconds))
