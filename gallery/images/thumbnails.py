"""Thumbnails by task, image and size: the asked size first, the image's others from the same decode when the
server has a decode slot to spare, kept on disk, and prepared in the background for a gallery just viewed."""

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from gallery.flux.models import Status, Task
from gallery.images.originals import ImageFetchError, Originals
from gallery.images.pipeline import ThumbnailError, make_thumbnails
from gallery.infra.coalesce import Coalescer
from gallery.infra.disk import DiskStore
from gallery.infra.slots import Busy

log = logging.getLogger(__name__)
# Takes a job (which makes the rest of an image's sizes) to run later, when it suits the caller.
Later = Callable[[Callable[[], object]], None]


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

    def get(self, task: Task, index: int, size: int, later: Later | None = None) -> bytes:
        """The thumbnail; raises ImageFetchError or ThumbnailError for a broken image, Busy when overloaded."""
        # A cold one is made first, on its own; the image's other sizes are made from the same decode by the job
        # handed to `later` (the route runs it once the response is sent), or not at all without it.
        data = self.store.read(self.key(task.id, index, size))
        if data is None:
            order = (size, *(other for other in self.sizes if other != size))
            made = self.coalescer.do(self._lock_key(task, index), lambda: self._make(task, index, order, later))
            # The leader may have made another size first (the background job does the smallest first).
            data = made.get(size) or self.store.read(self.key(task.id, index, size))
            data = data or self._make(task, index, (size,))[size]
        return data

    def all_sizes(self, task: Task, index: int) -> dict[int, bytes]:
        """Every thumbnail size of one image, made from one decode when any is missing."""
        return self._make_all(task, index)

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
            self._make_all(task, index)  # so whichever size the browser asks for next is ready
        except (ImageFetchError, ThumbnailError, Busy):
            pass  # remembered as a failure, or left for the browser's own request
        except Exception:  # noqa: BLE001 - a background job must never die silently with the worker
            log.exception("preparing thumbnails of %s/%d failed", task.id, index)
        finally:
            with self._lock:
                self._queued -= 1

    def _make_all(self, task: Task, index: int) -> dict[int, bytes]:
        """Every size, smallest first: the grid's size is on disk, and its askers let go, before the larger
        ones are made (from the same decode, under the image's lock again)."""
        rest: list[Callable[[], object]] = []  # run here, once the first size has let its askers go
        made = self.coalescer.do(self._lock_key(task, index),
                                 lambda: self._make(task, index, self.sizes, rest.append, spare=False))
        for job in rest:
            job()
        return {size: made.get(size) or self.store.read(self.key(task.id, index, size))
                or self._make(task, index, (size,))[size] for size in self.sizes}

    def _make(self, task: Task, index: int, sizes: tuple[int, ...], later: Later | None = None, *,
              spare: bool = True) -> dict[int, bytes]:
        """The first of `sizes` made now and kept on disk; the others from the same decode by a job handed to
        `later` (none without it), in a spare decode slot unless `spare` is False."""
        kept = {size: data for size in sizes if (data := self.store.read(self.key(task.id, index, size)))}
        if sizes[0] in kept:
            return kept  # a caller just ahead of us made them
        missing = tuple(size for size in sizes if size not in kept)
        url = task.images[index].url
        thumbnails = self.originals.derive(task.id, index, url, lambda original: self._first(original, missing))
        size, data = next(thumbnails)
        self.store.write(self.key(task.id, index, size), data)
        # The decoded image is kept for the rest only when nothing else waits to decode: under load it would be
        # held by every request in flight (16 MiB for a 2048-px image), for sizes made when asked for anyway.
        if later is not None and len(missing) > 1 and (not spare or self.originals.slots.idle()):
            later(lambda: self._rest(task, index, thumbnails, spare))
        return {**kept, size: data}

    def _first(self, original: bytes, sizes: tuple[int, ...]) -> Iterator[tuple[int, bytes]]:
        """The thumbnails of `sizes` from one decode, the first already made (in the caller's decode slot)."""
        thumbnails = make_thumbnails(original, sizes, self.max_pixels)
        first = next(thumbnails)
        return itertools.chain((first,), thumbnails)

    def _rest(self, task: Task, index: int, thumbnails: Iterator[tuple[int, bytes]], spare: bool) -> dict[int, bytes]:
        """The sizes still to make from a decode already done, under the image's lock (a browser asking for one
        meanwhile waits for it rather than decoding again), in a decode slot (a spare one or Busy, if `spare`)."""

        def make() -> dict[int, bytes]:
            made = {}
            for size, data in thumbnails:
                self.store.write(self.key(task.id, index, size), data)
                made[size] = data
            return made

        # After a response, only with a slot to spare: under load, requests waiting for a decode come first, and
        # a size left undone here is made when it is asked for.
        slots = self.originals.slots
        return self.coalescer.do(self._lock_key(task, index), lambda: (slots.spare if spare else slots.run)(make))
