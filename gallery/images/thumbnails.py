"""Thumbnails by task, image and size: made once per image (every size from one decode), kept on disk,
and prepared in the background for a gallery that was just viewed."""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from gallery.flux.models import Status, Task
from gallery.images.originals import ImageFetchError, Originals
from gallery.images.pipeline import ThumbnailError, make_thumbnails
from gallery.infra.coalesce import Coalescer
from gallery.infra.disk import DiskStore
from gallery.infra.slots import Busy

log = logging.getLogger(__name__)


class Thumbnailer:
    """Makes and keeps the thumbnails of an image; concurrent askers of one image share one fetch and decode."""

    def __init__(self, store: DiskStore, originals: Originals, coalescer: Coalescer, sizes: tuple[int, ...],
                 max_pixels: int, *, backlog: int = 256) -> None:
        self.store = store
        self.originals = originals
        self.coalescer = coalescer
        self.sizes = sizes
        self.max_pixels = max_pixels
        self.backlog = backlog
        # One background worker: preparing ahead uses at most one decode slot, leaving the rest to browsers.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="thumbnails")
        self._queued = 0
        self._closed = False
        self._lock = threading.Lock()

    def close(self) -> None:
        """Drop the work still queued, let the running job finish, and end the background worker."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._queued = 0  # cancelled jobs never reach their own `finally`

    @staticmethod
    def key(task_id: str, index: int, size: int) -> str:
        return f"thumbs/{task_id}/{index}/{size}.webp"

    def get(self, task: Task, index: int, size: int) -> bytes:
        """The thumbnail; raises ImageFetchError or ThumbnailError for a broken image, Busy when overloaded."""
        data = self.store.read(self.key(task.id, index, size))
        if data is None:
            # Only the size asked for: the cold request stays one decode and one small encode.
            made = self.coalescer.do(self._lock_key(task, index), lambda: self._make(task, index, (size,)))
            data = made.get(size) or self._make(task, index, (size,))[size]  # the leader made another size
        return data

    def all_sizes(self, task: Task, index: int) -> dict[int, bytes]:
        """Every thumbnail size of one image, made from one decode when any is missing."""
        return self.coalescer.do(self._lock_key(task, index), lambda: self._make(task, index, self.sizes))

    @staticmethod
    def _lock_key(task: Task, index: int) -> str:
        return f"thumbs:{task.id}:{index}"

    def prepare(self, tasks: list[Task]) -> int:
        """Queue the missing thumbnails of `tasks` for the background worker; how many images were queued."""
        queued = 0
        for task in tasks:
            if task.status is not Status.DONE:
                continue
            for image in task.images:
                if self.store.path(self.key(task.id, image.index, max(self.sizes))).exists():
                    continue
                with self._lock:
                    if self._closed or self._queued >= self.backlog:
                        return queued  # a burst of huge galleries: the browser's own requests will do the rest
                    self._queued += 1
                    # Under the lock, so close() cannot shut the pool between the check and the submit.
                    self._pool.submit(self._prepare_one, task, image.index)
                queued += 1
        return queued

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no background work is queued or running; whether that happened within `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._queued == 0:
                    return True
            time.sleep(0.01)
        return False

    def _prepare_one(self, task: Task, index: int) -> None:
        try:
            self.all_sizes(task, index)  # so whichever size the browser asks for next is ready
        except (ImageFetchError, ThumbnailError, Busy):
            pass  # remembered as a failure, or left for the browser's own request
        except Exception:  # noqa: BLE001 - a background job must never die silently with the worker
            log.exception("preparing thumbnails of %s/%d failed", task.id, index)
        finally:
            with self._lock:
                self._queued -= 1

    def _make(self, task: Task, index: int, sizes: tuple[int, ...]) -> dict[int, bytes]:
        """Thumbnails of one image in `sizes`, all from one decode of its original, each kept on disk."""
        kept = {size: self.store.read(self.key(task.id, index, size)) for size in sizes}
        if all(data is not None for data in kept.values()):
            return kept  # a caller just ahead of us made them
        url = task.images[index].url
        made = self.originals.derive(task.id, index, url,
                                     lambda original: make_thumbnails(original, sizes, self.max_pixels))
        for size, data in made.items():
            self.store.write(self.key(task.id, index, size), data)
        return made
