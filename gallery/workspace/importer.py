"""Import: bring tasks into the workspace by ID, or every task created in a time window, a page at a time."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from gallery.flux.client import FluxClient
from gallery.flux.models import task_from_record
from gallery.workspace.kept import KeptTasks

PAGE = 50  # tasks per Tasks API call, as for galleries

Progress = Callable[[int, int | None], None]  # (tasks handled so far, tasks in all when known)


@dataclass
class ImportSummary:
    """What an import did: tasks newly kept, kept already, not finished yet, and unknown to the API."""

    new: int = 0
    already: int = 0
    unfinished: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def seen(self) -> int:
        """Every task the import looked at."""
        return self.new + self.already + len(self.unfinished) + len(self.unknown)

    def add(self, other: "ImportSummary") -> None:
        """Count another part's tasks in."""
        self.new += other.new
        self.already += other.already
        self.unfinished += other.unfinished
        self.unknown += other.unknown


class Importer:
    """Fetches tasks from the Tasks API and keeps the finished ones, marked as imported."""

    def __init__(self, client: FluxClient, kept: KeptTasks, *, page: int = PAGE) -> None:
        self.client = client
        self.kept = kept
        self.page = page

    def by_ids(self, ids: Iterable[str], progress: Progress = lambda done, total: None) -> ImportSummary:
        """Import the named tasks, a page at a time."""
        ids = list(dict.fromkeys(ids))
        summary = ImportSummary()
        for start in range(0, len(ids), self.page):
            chunk = ids[start:start + self.page]
            records = self.client.fetch(chunk)
            part = self._keep([records[task_id] for task_id in chunk if task_id in records])
            part.unknown += [task_id for task_id in chunk if task_id not in records]
            summary.add(part)
            progress(min(start + self.page, len(ids)), len(ids))
        return summary

    def by_window(self, since: datetime, until: datetime,
                  progress: Progress = lambda done, total: None) -> ImportSummary:
        """Import every task created from `since` to `until` (both inclusive), paging until the count is met."""
        summary = ImportSummary()
        offset, count = 0, None
        # The window's end is fixed before the first page, so tasks made while it runs do not shift the pages.
        low, high = since.timestamp(), until.timestamp()
        while count is None or offset < count:
            items, count = self.client.window(low, high, offset=offset, limit=self.page)
            if not items:
                break  # fewer tasks than the count promised (some were cleared upstream): nothing more to ask
            summary.add(self._keep(items))
            offset += len(items)
            progress(min(offset, count), count)
        return summary

    def _keep(self, records: list[dict]) -> ImportSummary:
        """Keep the finished tasks among `records`; count what was new."""
        part = ImportSummary()
        tasks = [task_from_record(record["id"], record) for record in records]
        known = self.kept.known([task.id for task in tasks])
        finished = [(task, record) for task, record in zip(tasks, records, strict=True) if task.finished]
        part.unfinished = [task.id for task in tasks if not task.finished]
        self.kept.keep_many(finished, "import")
        part.already = sum(1 for task, _ in finished if task.id in known)
        part.new = len(finished) - part.already
        return part
