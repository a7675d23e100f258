"""Fetching original images from the URLs in task records, and keeping them so shared links keep working."""

import logging
import threading
import time

import requests

from gallery.store import DiskStore
from gallery.thumbnails import inspect

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 3.05
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})


class ImageFetchError(Exception):
    """An original image could not be had; the message says why, for a person."""


class ImageFetcher:
    """Downloads one image with a total deadline and a byte cap, never sending the API token or cookies."""

    def __init__(self, *, timeout: float = 10.0, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._local = threading.local()

    def fetch(self, url: str) -> bytes:
        """The bytes at `url`, which must answer 200 with a PNG, JPEG or WebP content type."""
        stop = time.monotonic() + self.timeout
        try:
            with self._session().get(url, timeout=(CONNECT_TIMEOUT, self.timeout), stream=True,
                                     allow_redirects=False) as response:
                if response.status_code != 200:
                    raise ImageFetchError(f"the image host answered HTTP {response.status_code}")
                kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if kind not in IMAGE_TYPES:
                    raise ImageFetchError(f"the image host sent {kind or 'no content type'}, not an image")
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise ImageFetchError("the image is larger than this server accepts")
                return self._read(response, stop)
        except requests.Timeout:
            raise ImageFetchError("the image host did not answer in time") from None
        except requests.RequestException as error:
            log.info("image fetch failed: %s", type(error).__name__)
            raise ImageFetchError("the image host could not be reached") from None

    def _read(self, response: requests.Response, stop: float) -> bytes:
        """The body, counted while it streams so a missing or false Content-Length cannot slip past the cap."""
        chunks, size = [], 0
        for chunk in response.raw.stream(64 * 1024, decode_content=False):
            size += len(chunk)
            if size > self.max_bytes:
                raise ImageFetchError("the image is larger than this server accepts")
            if time.monotonic() > stop:
                raise ImageFetchError("the image host did not answer in time")
            chunks.append(chunk)
        return b"".join(chunks)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False
            # identity: a compressed body could inflate far past the byte cap.
            session.headers.update({"accept": "image/png,image/jpeg,image/webp", "accept-encoding": "identity"})
            self._local.session = session
        return session


class Originals:
    """Original images by task and index: from the disk store when kept, else fetched, checked and kept."""

    def __init__(self, store: DiskStore, fetcher: ImageFetcher, max_pixels: int) -> None:
        self.store = store
        self.fetcher = fetcher
        self.max_pixels = max_pixels

    @staticmethod
    def key(task_id: str, index: int) -> str:
        return f"originals/{task_id}/{index}"

    def get(self, task_id: str, index: int, url: str) -> bytes:
        """The original bytes; raises ImageFetchError or ThumbnailError, and keeps only whole images."""
        key = self.key(task_id, index)
        data = self.store.read(key)
        if data is None:
            data = self.fetcher.fetch(url)
            inspect(data, self.max_pixels)  # a truncated or hostile file is never kept as good
            self.store.write(key, data)
        return data


def media_type(data: bytes) -> str:
    """The content type of image bytes, from their magic numbers rather than any label."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"
