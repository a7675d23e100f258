"""Rendered pages of finished galleries, which never change: rendered once, then served from memory."""

import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from cachetools import LRUCache

from gallery.flux.models import Task


@dataclass(frozen=True)
class Page:
    """A rendered page, encoded once, and its validator (weak: compressed and plain, it is the same page)."""

    body: bytes
    etag: str


def page_key(link: str, host: str, tasks: Iterable[Task], broken: Mapping[tuple[str, int], str],
             as_of: datetime | None, variant: tuple = ()) -> tuple | None:
    """What a gallery page depends on, or None when it may still change and must be rendered afresh.

    Only a gallery whose every task has finished qualifies, and never one served from kept copies. The link
    (path and query: `?image=`, `?title=`) and the host (absolute link-preview URLs) pick the page; images
    that could not be loaded are part of the key, since they show as placeholders until they can be. `variant`
    holds whatever else the page shows differently (the grid's density, image shapes learnt since).
    """
    if as_of is not None or not all(task.finished for task in tasks):
        return None
    return link, host, tuple(sorted(broken.items())), variant


class PageCache:
    """Least recently used pages, up to `max_bytes` of encoded HTML in all; 0 turns it off."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._pages: LRUCache[tuple, Page] = LRUCache(maxsize=max_bytes, getsizeof=lambda page: len(page.body))
        self._lock = threading.Lock()  # cachetools' caches are not thread-safe

    def get(self, key: tuple | None) -> Page | None:
        if key is None:
            return None
        with self._lock:
            return self._pages.get(key)  # a hit counts as a use

    def put(self, key: tuple | None, html: str) -> Page:
        """Keep `html` under `key` (unless it is None or too large) and return it as a Page."""
        body = html.encode()
        page = Page(body, hashlib.sha256(body).hexdigest()[:32])
        if key is None or len(body) > self.max_bytes:  # LRUCache would raise ValueError for a page over the cap
            return page
        with self._lock:
            self._pages[key] = page
        return page
