"""The tasks service: task records by ID, from memory when fresh, else from the Tasks API in one call."""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from gallery.api import FluxClient
from gallery.models import Task, task_from_record


class TaskService:
    """Normalised tasks by ID; finished tasks are kept for good, pending and unknown ones for `pending_ttl`."""

    def __init__(self, client: FluxClient, *, pending_ttl: float = 4.0, max_entries: int = 20_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.pending_ttl = pending_ttl
        self.max_entries = max_entries
        self._clock = clock
        self._cache: OrderedDict[str, tuple[Task, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, ids: Iterable[str]) -> list[Task]:
        """Tasks in the order of `ids`, asking the API only about those not fresh in the cache."""
        ids = list(dict.fromkeys(ids))
        found = {task_id: task for task_id in ids if (task := self._fresh(task_id))}
        missing = [task_id for task_id in ids if task_id not in found]
        if missing:
            records = self.client.fetch(missing)
            for task_id in missing:
                found[task_id] = task_from_record(task_id, records.get(task_id))
                self._keep(found[task_id])
        return [found[task_id] for task_id in ids]

    def get(self, task_id: str) -> Task:
        """One task."""
        return self.get_many([task_id])[0]

    def _fresh(self, task_id: str) -> Task | None:
        with self._lock:
            entry = self._cache.get(task_id)
            if entry is None:
                return None
            task, at = entry
            if task.finished or self._clock() - at < self.pending_ttl:
                self._cache.move_to_end(task_id)
                return task
            return None

    def _keep(self, task: Task) -> None:
        with self._lock:
            self._cache[task.id] = (task, self._clock())
            self._cache.move_to_end(task.id)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
