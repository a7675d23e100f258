"""Kept tasks on SQLite and PostgreSQL: what is kept, Recent's pages, and the database as the durable tier."""

from datetime import UTC, datetime

import pytest

from flux_emulator import app as sample
from gallery.flux.models import task_from_record
from gallery.workspace.cursors import BadCursor
from support import emulator_stats, gallery_app, set_fault
from workspace_helpers import ACCOUNT, keep, record, task_id


def test_a_finished_task_is_kept_without_its_account_fields(kept):
    keep(kept, record(1))
    stored = kept.records([task_id(1)])[task_id(1)]
    assert stored["request"]["prompt"] == "a lighthouse at dusk"
    assert not set(ACCOUNT) & set(stored)


def test_a_pending_task_is_not_kept(kept):
    pending = {"id": task_id(2), "created_at": 1_764_000_000, "request": {"prompt": "soon"}}
    assert kept.keep(task_from_record(task_id(2), pending), pending, "viewed") is False
    assert kept.records([task_id(2)]) == {} and kept.count() == 0


def test_a_repeat_is_harmless_and_keeps_when_it_was_first_seen(kept, workspace_app):
    from gallery.workspace.db import db
    from gallery.workspace.models import KeptTask

    keep(kept, record(3), source="callback")
    keep(kept, record(3), source="viewed")
    with workspace_app.app_context():
        row = db.session.query(KeptTask).one()
        assert row.source == "callback" and row.last_seen >= row.first_seen
    assert kept.count() == 1


def test_recent_pages_newest_first_by_creation_time_and_every_task_once(kept):
    keep(kept, *[record(n) for n in range(1, 8)])
    seen, cursor, pages = [], None, 0
    while True:
        page = kept.recent(cursor, limit=3)
        seen += [task.id for task in page.tasks]
        pages += 1
        if page.next is None:
            break
        cursor = page.next
    assert seen == [task_id(n) for n in range(7, 0, -1)] and pages == 3


def test_recent_pages_stay_put_when_new_tasks_arrive(kept):
    keep(kept, *[record(n) for n in range(1, 7)])
    first = kept.recent(None, limit=3)
    keep(kept, record(50))  # newer than all: it goes on page one, and page two must not repeat page one's end
    second = kept.recent(first.next, limit=3)
    assert [task.id for task in second.tasks] == [task_id(n) for n in (3, 2, 1)]


def test_tasks_created_at_the_same_moment_are_all_listed(kept):
    keep(kept, *[record(n, created=1_764_000_000.5) for n in range(1, 6)])
    seen, cursor = [], None
    for _ in range(5):
        page = kept.recent(cursor, limit=2)
        seen += [task.id for task in page.tasks]
        if not (cursor := page.next):
            break
    assert sorted(seen) == [task_id(n) for n in range(1, 6)] and len(seen) == 5


@pytest.mark.parametrize("cursor", ["nonsense", "W10", "WyJzIiwgIi01Il0", "WyJyIiwgIngiLCAieSJd"])
def test_a_forged_cursor_is_refused_clearly(kept, cursor):
    with pytest.raises(BadCursor):
        kept.recent(cursor)


def test_a_viewed_gallery_costs_no_upstream_call_after_a_restart(emulator, tmp_path, database_url):
    ids = ",".join(sample.SAMPLE_GALLERIES["Prompt iterations"])
    first = gallery_app(emulator.url, tmp_path / "one", DATABASE_URL=database_url)
    assert first.test_client().get(f"/tasks/{ids}").status_code == 200
    calls = emulator_stats(emulator)["task_calls"]
    # A new server on the same database, with a fresh cache folder and no Redis: only the database remembers.
    set_fault(emulator, "500")
    again = gallery_app(emulator.url, tmp_path / "two", DATABASE_URL=database_url)
    page = again.test_client().get(f"/tasks/{ids}")
    assert page.status_code == 200 and "not answering" not in page.get_data(as_text=True)
    assert emulator_stats(emulator)["task_calls"] == calls


def test_times_come_back_as_utc(kept):
    keep(kept, record(9, created=1_764_000_000.25))
    task = kept.recent().tasks[0]
    assert task.created_at == datetime.fromtimestamp(1_764_000_000.25, UTC)
