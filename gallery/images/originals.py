"""Fetching original images from the URLs in task records, and keeping them so shared links keep working."""

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import requests
import urllib3.exceptions
from cachetools import TTLCache

from gallery.flux.client import CONNECT_TIMEOUT
from gallery.images.egress import BlockedUrl, EgressPolicy, blocked_reason, guarded_session
from gallery.images.pipeline import ThumbnailError, inspect
from gallery.infra.coalesce import Coalescer, LocalCoalescer
from gallery.infra.disk import DiskStore
from gallery.infra.slots import Slots

log = logging.getLogger(__name__)
T = TypeVar("T")

CHUNK = 64 * 1024
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
# Why a done task's image cannot be had when its record gives no http(s) address: the one wording every route
# (thumbnails, originals, link previews, the zip, the page's card) shows.
NO_ADDRESS = "the task gives no usable image address"


class ImageFetchError(Exception):
    """An original image could not be had; the message says why, for a person."""


class ImageFetcher:
    """Downloads one image under an egress policy, a total deadline and a byte cap, without token or cookies."""

    def __init__(self, *, timeout: float = 10.0, read_timeout: float = 5.0, max_bytes: int = 16 * 1024 * 1024,
                 policy: EgressPolicy | None = None) -> None:
        self.timeout = timeout  # the whole download
        self.read_timeout = read_timeout  # the longest silence between bytes
        self.max_bytes = max_bytes
        self.policy = policy or EgressPolicy()
        self._local = threading.local()  # a session per thread: requests.Session is not documented as thread-safe
        self._sessions: list[requests.Session] = []  # every thread's, to close them all in close()
        self._sessions_lock = threading.Lock()

    def close(self) -> None:
        """Close every thread's connections to image hosts."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def fetch(self, url: str) -> bytes:
        """The bytes at `url`, which must answer 200 with a PNG, JPEG or WebP content type and no encoding."""
        try:
            self.policy.check_url(url)
        except BlockedUrl as error:
            raise ImageFetchError(str(error)) from None
        stop = time.monotonic() + self.timeout
        timeout = (min(CONNECT_TIMEOUT, self.timeout), min(self.read_timeout, self.timeout))
        try:
            # Redirects are never followed: each hop would be a new, unchecked request on the image host's say.
            with self._session().get(url, timeout=timeout, stream=True, allow_redirects=False) as response:
                self._check_headers(response)
                return self._read(response, stop)
        except requests.Timeout:
            raise ImageFetchError("the image host did not answer in time") from None
        except requests.RequestException as error:
            if blocked_reason(error):
                raise ImageFetchError("the image host is not a public internet address") from None
            log.info("image fetch failed: %s", type(error).__name__)
            raise ImageFetchError("the image host could not be reached") from None
        except urllib3.exceptions.ReadTimeoutError:
            raise ImageFetchError("the image host did not answer in time") from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            log.info("image download broke off: %s", type(error).__name__)
            raise ImageFetchError("the image host broke off the download") from None

    def _check_headers(self, response: requests.Response) -> None:
        """Refuse anything but a 200 with one exact image type, no compression and an acceptable length."""
        if 300 <= response.status_code < 400:
            raise ImageFetchError(f"the image host redirected elsewhere (HTTP {response.status_code})")
        if response.status_code != 200:
            raise ImageFetchError(f"the image host answered HTTP {response.status_code}")
        kind = media_type_header(response.headers.get("Content-Type"))
        if kind not in IMAGE_TYPES:
            raise ImageFetchError(f"the image host sent {kind or 'no content type'}, not a PNG, JPEG or WebP image")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            # We asked for identity; a compressed body could inflate far past the byte cap, so it is refused.
            raise ImageFetchError(f"the image host sent a {encoding}-compressed body")
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise ImageFetchError("the image is larger than this server accepts")

    def _read(self, response: requests.Response, stop: float) -> bytes:
        """The body, counted while it streams so a missing or false Content-Length cannot slip past the cap."""
        chunks, size = [], 0
        while True:
            if time.monotonic() > stop:
                raise ImageFetchError("the image host did not answer in time")
            # read1: whatever has arrived, so a host that drips bytes cannot hold us past the deadline.
            chunk = response.raw.read1(CHUNK, decode_content=False)
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_bytes:
                raise ImageFetchError("the image is larger than this server accepts")
            chunks.append(chunk)
        return b"".join(chunks)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = guarded_session(self.policy)
            # identity: a compressed body could inflate far past the byte cap.
            session.headers.update({"accept": "image/png,image/jpeg,image/webp", "accept-encoding": "identity"})
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session


class Failures:
    """Recent fetch and decode failures by key, so a broken image is not fetched again for `ttl` seconds."""

    def __init__(self, ttl: float = 60.0, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        # Least recently used go first past max_entries; each entry is forgotten `ttl` seconds after it was added.
        self._entries: TTLCache[str, str] = TTLCache(maxsize=max_entries, ttl=max(ttl, 0.0), timer=clock)
        self._lock = threading.Lock()  # cachetools' caches are not thread-safe

    def get(self, key: str) -> str | None:
        """Why `key` failed, if it failed less than `ttl` seconds ago."""
        with self._lock:
            return self._entries.get(key)

    def add(self, key: str, reason: str) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries[key] = reason

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Originals:
    """Original images by task and index: from the disk store when kept, else fetched, checked and kept."""

    def __init__(self, store: DiskStore, fetcher: ImageFetcher, max_pixels: int, *,
                 failures: Failures | None = None, coalescer: Coalescer | None = None,
                 slots: Slots | None = None, downloads: Slots | None = None) -> None:
        self.store = store
        self.fetcher = fetcher
        self.max_pixels = max_pixels
        self.failures = failures or Failures()
        self.coalescer = coalescer or LocalCoalescer()
        self.slots = slots or Slots()
        self.downloads = downloads or Slots(10)  # fetches at once: thumbor's HTTP_LOADER_MAX_CLIENTS

    @staticmethod
    def key(task_id: str, index: int) -> str:
        return f"originals/{task_id}/{index}"

    def failure(self, task_id: str, index: int) -> str | None:
        """Why image `index` of a task recently could not be loaded, if it could not."""
        return self.failures.get(self.key(task_id, index))

    def get(self, task_id: str, index: int, url: str | None) -> bytes:
        """The original bytes; raises ImageFetchError or ThumbnailError, and keeps only whole images."""
        key = self.key(task_id, index)
        data = self.store.read(key)
        if data is not None:
            return data
        return self.coalescer.do(key, lambda: self.store.read(key) or self._fetch_whole(key, url))

    def derive(self, task_id: str, index: int, url: str | None, make: Callable[[bytes], T]) -> T:
        """`make(original)` in a decode slot; a freshly fetched original is kept only once `make` has decoded
        it whole, so a cold thumbnail costs one decode, not a check and then a thumbnail."""
        key = self.key(task_id, index)
        data = self.store.read(key)
        if data is not None:
            return self._decode(key, lambda: make(data))
        data = self._download(key, url)
        result = self._decode(key, lambda: make(data))
        self.store.write(key, data)
        return result

    def _fetch_whole(self, key: str, url: str | None) -> bytes:
        """Download, prove whole with a full decode (a truncated or hostile file is never kept), keep."""
        data = self._download(key, url)
        self._decode(key, lambda: inspect(data, self.max_pixels))
        self.store.write(key, data)
        return data

    def _download(self, key: str, url: str | None) -> bytes:
        """The bytes at `url`, unless this image failed lately; a failure is remembered."""
        if reason := self.failures.get(key):
            raise ImageFetchError(reason)
        try:
            if url is None:
                raise ImageFetchError(NO_ADDRESS)
            return self.downloads.run(lambda: self.fetcher.fetch(url))
        except ImageFetchError as error:
            self.failures.add(key, str(error))
            raise

    def _decode(self, key: str, work: Callable[[], T]) -> T:
        """Decoding work in a bounded slot; an image that will not decode is remembered as broken."""
        try:
            return self.slots.run(work)
        except ThumbnailError as error:
            self.failures.add(key, str(error))
            raise


def media_type_header(value: str | None) -> str | None:
    """The one media type a Content-Type header names, lower-cased; None when missing or a list (smuggling)."""
    if not value or "," in value:
        return None
    kind = value.split(";", 1)[0].strip().lower()
    return kind if kind.count("/") == 1 and " " not in kind else None


# File extensions by the content types the gallery serves, for names of downloaded and exported originals.
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def media_type(data: bytes) -> str:
    """The content type of image bytes, from their magic numbers rather than any label."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"
