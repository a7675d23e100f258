"""The tasks service: task records by ID, from memory or disk when fresh, else from the Tasks API in one call."""

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cachetools import LRUCache

from gallery.flux.client import ApiError, FluxClient
from gallery.flux.models import Status, Task, public_record, task_from_record
from gallery.infra.coalesce import Coalescer, LocalCoalescer
from gallery.infra.disk import RecordStore

log = logging.getLogger(__name__)

# Failures after which a kept copy, however old, is better than an error page (RFC 5861 stale-if-error).
STALE_KINDS = frozenset({"rate_limited", "unavailable", "timeout", "bad_response", "paused"})
MIN_UNFINISHED_KEEP = 60.0  # seconds a shared store keeps an unfinished task's record, at least


class Archive(Protocol):
    """Where finished tasks are kept for good: the workspace database."""

    def records(self, ids: Iterable[str]) -> dict[str, dict]: ...
    def keep_many(self, items: Iterable[tuple[Task, object]], source: str) -> int: ...


@dataclass(frozen=True)
class Found:
    """Tasks in the order asked, and, when the upstream failed and kept copies stood in, how old they are."""

    tasks: list[Task]
    as_of: datetime | None = None


@dataclass(frozen=True)
class _Entry:
    task: Task
    fetched_at: float  # wall-clock seconds, so "as of" means something after a restart too


class TaskService:
    """Normalised tasks by ID; finished tasks are kept for good (memory and disk), pending ones for `pending_ttl`."""

    def __init__(self, client: FluxClient, *, pending_ttl: float = 4.0, max_entries: int = 20_000,
                 store: RecordStore | None = None, coalescer: Coalescer | None = None,
                 archive: Archive | None = None, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.pending_ttl = pending_ttl
        self.max_entries = max_entries
        self.store = store
        self.coalescer = coalescer or LocalCoalescer()
        self.archive = archive
        self._clock = clock
        self._cache: LRUCache[str, _Entry] = LRUCache(maxsize=max_entries)
        self._lock = threading.Lock()  # cachetools' caches are not thread-safe

    def find(self, ids: Iterable[str]) -> Found:
        """Tasks in the order of `ids`, asking the API only about those not fresh; kept copies if it fails."""
        ids = list(dict.fromkeys(ids))
        found = {task_id: task for task_id in ids if (task := self._fresh_task(task_id))}
        missing = [task_id for task_id in ids if task_id not in found]
        as_of = None
        if missing:
            try:
                # Concurrent views of one gallery share one upstream call. The key names the whole gallery, not
                # what each view found missing: a leader keeps its records one by one, so two views a moment
                # apart can see different parts missing, and would otherwise each ask upstream.
                fetched = self.coalescer.do(self._gallery_key(ids), lambda: self._fetch(ids))
            except ApiError as error:
                if error.kind not in STALE_KINDS:
                    raise
                fetched, as_of = self._stand_ins(missing, found, error)
            found.update(fetched)
        return Found([found[task_id] for task_id in ids], as_of)

    def _stand_ins(self, missing: list[str], found: dict[str, Task],
                   error: ApiError) -> tuple[dict[str, Task], datetime | None]:
        """When the upstream fails: kept copies, however old (RFC 5861 stale-if-error), and an "unavailable"
        task for each one never kept. Only when nothing at all can be shown does the failure reach the page."""
        stale = {task_id: entry for task_id in missing if (entry := self._entry(task_id))}
        if not stale and not found:
            raise error
        log.warning("Tasks API %s; showing %d kept copies and %d tasks as unavailable", error.kind, len(stale),
                    len(missing) - len(stale))
        tasks = {task_id: stale[task_id].task if task_id in stale else
                 Task(id=task_id, status=Status.UNAVAILABLE, error_code=error.code or error.kind,
                      error_message=error.message)
                 for task_id in missing}
        as_of = datetime.fromtimestamp(min(entry.fetched_at for entry in stale.values()), UTC) if stale else None
        return tasks, as_of

    def close(self) -> None:
        """Close the client: its threads end and its connections close."""
        self.client.close()

    def get_many(self, ids: Iterable[str]) -> list[Task]:
        """Tasks in the order of `ids`."""
        return self.find(ids).tasks

    def get(self, task_id: str) -> Task:
        """One task."""
        return self.find([task_id]).tasks[0]

    def keep(self, task: Task, record: object = None) -> None:
        """Remember a task (and its record, less the account fields, on disk, so it outlives a restart)."""
        entry = self._remember(task.id, _Entry(task, self._clock()))
        if self.store is not None and record is not None:
            body = json.dumps({"fetched_at": entry.fetched_at, "record": public_record(record)}, ensure_ascii=False)
            # A pending or unknown task's record is asked for again after pending_ttl; kept a while longer it can
            # still stand in when the upstream fails, but it must not stay for good (anyone can name any ID).
            ttl = None if task.finished else max(MIN_UNFINISHED_KEEP, 4 * self.pending_ttl)
            self.store.write(self._key(task.id), body.encode(), ttl=ttl)

    def _fetch(self, ids: list[str]) -> dict[str, Task]:
        # Whoever led a coalesced call just before us (here or, with Redis, on another server) may have
        # kept fresh records already: only what is still missing goes upstream.
        tasks = {task_id: task for task_id in ids if (task := self._fresh_task(task_id))}
        missing = [task_id for task_id in ids if task_id not in tasks]
        if missing and self.archive is not None:
            # The database keeps every finished task for good: after a restart, no upstream call for these.
            for task_id, record in self.archive.records(missing).items():
                tasks[task_id] = task_from_record(task_id, record)
                self.keep(tasks[task_id], record)
            missing = [task_id for task_id in missing if task_id not in tasks]
        if not missing:
            return tasks
        records = self.client.fetch(missing)
        for task_id in missing:
            record = records.get(task_id)
            tasks[task_id] = task_from_record(task_id, record)
            self.keep(tasks[task_id], record if record is not None else {})
        if self.archive is not None:
            self.archive.keep_many([(tasks[task_id], records[task_id]) for task_id in missing
                                    if task_id in records and tasks[task_id].finished], "viewed")
        return tasks

    def refresh(self, task_id: str) -> tuple[Task, object]:
        """Ask the API about one task now, whatever is kept (a callback says it has just finished)."""
        record = self.client.fetch([task_id]).get(task_id)
        task = task_from_record(task_id, record)
        self.keep(task, record if record is not None else {})
        return task, record

    def _fresh_task(self, task_id: str) -> Task | None:
        """The task if a fresh copy is kept: in memory, else in the store, which another server may have filled."""
        entry = self._remembered(task_id)
        if entry is None or not self._fresh(entry):
            entry = self._stored(task_id)
        return entry.task if entry is not None and self._fresh(entry) else None

    def _fresh(self, entry: _Entry) -> bool:
        return entry.task.finished or self._clock() - entry.fetched_at < self.pending_ttl

    def _entry(self, task_id: str) -> _Entry | None:
        """The kept entry for a task, from memory, else from the store (then remembered in memory)."""
        return self._remembered(task_id) or self._stored(task_id)

    def _remembered(self, task_id: str) -> _Entry | None:
        """The entry kept in memory, now the most recently used."""
        with self._lock:
            return self._cache.get(task_id)  # a hit counts as a use

    def _remember(self, task_id: str, entry: _Entry) -> _Entry:
        """Keep an entry in memory, forgetting the least recently used past `max_entries`."""
        with self._lock:
            self._cache[task_id] = entry
        return entry

    def _stored(self, task_id: str) -> _Entry | None:
        """The entry the store (disk, or Redis shared with other servers) holds for a task."""
        if self.store is None:
            return None
        raw = self.store.read(self._key(task_id))
        if raw is None:
            return None
        try:
            kept = json.loads(raw)
            entry = _Entry(task_from_record(task_id, kept["record"]), float(kept["fetched_at"]))
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable kept record for task %s; asking again", task_id)
            return None
        return self._remember(task_id, entry)

    @staticmethod
    def _gallery_key(ids: list[str]) -> str:
        """One short coalescing key per set of IDs, whatever their order (a Redis lock name, among others)."""
        return "tasks:" + hashlib.sha256(",".join(sorted(ids)).encode()).hexdigest()

    @staticmethod
    def _key(task_id: str) -> str:
        return f"tasks/{task_id}.json"
