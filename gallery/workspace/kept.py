"""Kept tasks: every finished task this server has fetched, been sent or imported, newest first and searchable."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, case, column, func, or_, select, table, text
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from gallery.flux.models import Task, aspect, public_record, task_from_record
from gallery.workspace.cursors import aware, make_cursor, read_cursor
from gallery.workspace.models import SOURCES, KeptTask, Pick
from gallery.workspace.query import Query, Term

log = logging.getLogger(__name__)

# SQLite's full-text index of prompt words (see the first migration), as far as queries need to name it.
WORDS = table("kept_tasks_words", column("rowid"), column("rank"))
MAX_SEARCH_DEPTH = 10_000  # results one search pages through; past that, narrow the search
# Orders a listing may be sorted in besides its own (Recent: newest first; search: best match first).
ORDERS = ("newest", "oldest", "seed", "picks")


@dataclass(frozen=True)
class Page:
    """One page of kept tasks, in order, and the cursor of the next page (None on the last)."""

    tasks: list[Task]
    next: str | None


class KeptTasks:
    """The durable tier behind the task caches, and what Recent and search read."""

    def __init__(self, engine: Engine, *, clock=lambda: datetime.now(UTC)) -> None:
        # Sessions of its own on the app's engine, not Flask-SQLAlchemy's request-scoped one: callbacks and
        # imports keep tasks from background threads, outside any request.
        self.engine = engine
        self._session = sessionmaker(engine)
        self._clock = clock

    def close(self) -> None:
        """Close the pooled connections (a server that stops)."""
        self.engine.dispose()

    # --- writing ------------------------------------------------------------------------------------------

    def keep(self, task: Task, record: object, source: str) -> bool:
        """Keep a finished task (a repeat only moves its last-seen time); False if it is not finished."""
        return self.keep_many([(task, record)], source) == 1

    def keep_many(self, items: Iterable[tuple[Task, object]], source: str) -> int:
        """Keep many finished tasks in one transaction; how many of them were finished."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        now = self._clock()
        rows = [_row(task, record, source, now) for task, record in items if task.finished]
        if not rows:
            return 0
        table = KeptTask.__table__
        insert = postgres_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(table)
        # Finished tasks never change: a task seen again only says when.
        statement = statement.on_conflict_do_update(index_elements=[table.c.id],
                                                    set_={"last_seen": statement.excluded.last_seen})
        try:
            with self._session.begin() as session:
                # The rows as parameters of one cached statement (SQLAlchemy batches them into multi-row INSERTs
                # itself), not as a VALUES clause compiled afresh for each call: thousands of rows compiled that
                # way cost far more than writing them.
                session.execute(statement, rows)
        except SQLAlchemyError:
            # The page still shows what the API gave; the caches keep it meanwhile, the next view retries.
            log.exception("could not keep %d tasks in the database", len(rows))
            return 0
        return len(rows)

    # --- reading ------------------------------------------------------------------------------------------

    def records(self, ids: Iterable[str]) -> dict[str, dict]:
        """The kept records of those of `ids` that are kept."""
        ids = list(ids)
        if not ids:
            return {}
        try:
            with self._session() as session:
                rows = session.execute(select(KeptTask.id, KeptTask.record).where(KeptTask.id.in_(ids))).all()
        except SQLAlchemyError:
            # A database that is down costs upstream calls, never a page.
            log.exception("could not read kept tasks; asking the API instead")
            return {}
        return {task_id: record for task_id, record in rows}

    def known(self, ids: Iterable[str]) -> set[str]:
        """Which of `ids` are kept already."""
        ids = list(ids)
        if not ids:
            return set()
        with self._session() as session:
            return set(session.scalars(select(KeptTask.id).where(KeptTask.id.in_(ids))))

    def count(self) -> int:
        """How many tasks are kept."""
        with self._session() as session:
            return session.scalar(select(func.count()).select_from(KeptTask)) or 0

    def recent(self, cursor: str | None = None, limit: int = 48, order: str = "newest", picked: bool = False) -> Page:
        """Kept tasks newest first by creation time, a page at a time (keyset: stable as new tasks arrive); or in
        another of ORDERS, by position; `picked`: only tasks with a picked image."""
        if order != "newest":
            statement = select(KeptTask.id, KeptTask.record).order_by(*_order(order, self.engine.dialect.name))
            return self._by_position(_picked(statement) if picked else statement, cursor, limit)
        statement = select(KeptTask.id, KeptTask.record, KeptTask.created_at)
        if picked:
            statement = _picked(statement)
        if cursor:
            created_at, task_id = _read_cursor(cursor, "r")
            statement = statement.where(or_(KeptTask.created_at < created_at,
                                            and_(KeptTask.created_at == created_at, KeptTask.id < task_id)))
        statement = statement.order_by(KeptTask.created_at.desc(), KeptTask.id.desc()).limit(limit + 1)
        with self._session() as session:
            rows = session.execute(statement).all()
        more = len(rows) > limit
        rows = rows[:limit]
        following = make_cursor("r", aware(rows[-1].created_at).isoformat(), rows[-1].id) if more and rows else None
        return Page([task_from_record(row.id, row.record) for row in rows], following)

    def search(self, query: Query, cursor: str | None = None, limit: int = 48, order: str | None = None,
               picked: bool = False) -> Page:
        """Kept tasks matching `query`, best first (then newest), or in one of ORDERS; a page at a time."""
        # Relevance shifts a little as tasks arrive, so a keyset on it would skip or repeat: search pages by
        # position, up to MAX_SEARCH_DEPTH results deep.
        statement = _Search(self.engine.dialect.name, query).statement(order)
        return self._by_position(_picked(statement) if picked else statement, cursor, limit)

    def _by_position(self, statement, cursor: str | None, limit: int) -> Page:
        """A page of rows of (id, record) of `statement`, paged by position up to MAX_SEARCH_DEPTH deep."""
        offset = int(_read_cursor(cursor, "s")[0]) if cursor else 0
        if offset >= MAX_SEARCH_DEPTH:
            return Page([], None)
        with self._session() as session:
            rows = session.execute(statement.offset(offset).limit(limit + 1)).all()
        more = len(rows) > limit and offset + limit < MAX_SEARCH_DEPTH
        rows = rows[:limit]
        return Page([task_from_record(row.id, row.record) for row in rows],
                    make_cursor("s", str(offset + limit)) if more else None)


class _Search:
    """The SELECT for one parsed query on one database: each term a full-text match, filters as WHERE."""

    def __init__(self, dialect: str, query: Query) -> None:
        self.dialect = dialect
        self.query = query

    def statement(self, order: str | None = None):
        """Rows of (id, record), best match first, then newest; or in one of ORDERS."""
        query = self.query
        statement = select(KeptTask.id, KeptTask.record)
        conditions = []
        rank = None
        words = [term for term in query.terms if not term.unspaced]
        unspaced = [term for term in query.terms if term.unspaced]
        if self.dialect == "sqlite":
            if words:
                statement = statement.join_from(KeptTask, WORDS, WORDS.c.rowid == KeptTask.seq)
                conditions.append(text("kept_tasks_words MATCH :words").bindparams(words=_fts_words(words)))
                rank = WORDS.c.rank  # bm25: lower is better
            for n, term in enumerate(unspaced):
                conditions.append(_sqlite_substring(term.text, n))
        else:
            vector = func.to_tsvector("simple", func.coalesce(KeptTask.prompt, ""))
            if words:
                tsquery = func.to_tsquery("simple", _ts_words(words))
                conditions.append(vector.op("@@")(tsquery))
                rank = -func.ts_rank(vector, tsquery)
            for term in unspaced:
                conditions.append(KeptTask.prompt.ilike("%" + _like_escape(term.text) + "%", escape="\\"))
        conditions.extend(self._filters())
        if conditions:
            statement = statement.where(and_(*conditions))
        if order in ORDERS:
            return statement.order_by(*_order(order, self.dialect))
        best = [rank] if rank is not None else []
        return statement.order_by(*best, KeptTask.created_at.desc(), KeptTask.id.desc())

    def _filters(self) -> list:
        query = self.query
        found = []
        if query.model:
            found.append(func.lower(KeptTask.model) == query.model)
        if query.seed:
            found.append(KeptTask.seeds.like(f"% {query.seed} %"))
        if query.status:
            found.append(KeptTask.status == query.status)
        if query.before:
            found.append(KeptTask.created_at < query.before)
        if query.after:
            found.append(KeptTask.created_at >= query.after)
        if query.ratio:
            # Within 2 %: 1344x768 counts as 16:9 (1.75 against 1.78), as a person reading sizes would say.
            close = KeptTask.ratio.between(query.ratio * 0.98, query.ratio * 1.02)
            found.append(or_(KeptTask.size == query.size, close) if query.size else close)
        return found


def _picked(statement):
    """Only tasks with at least one picked image (the grid's Picks filter)."""
    return statement.where(KeptTask.id.in_(select(Pick.task_id)))


def _order(order: str, dialect: str) -> tuple:
    """ORDER BY clauses of one of ORDERS; ties go newest first, then by ID, so paging by position is stable."""
    if order == "picks":
        picks = select(func.count(Pick.id)).where(Pick.task_id == KeptTask.id).correlate(KeptTask).scalar_subquery()
        return picks.desc(), KeptTask.created_at.desc(), KeptTask.id.desc()
    if order == "oldest":
        return KeptTask.created_at.asc(), KeptTask.id.asc()
    if order == "seed":
        # Seeds are digits of any length, kept as " 281520112 90412277 " (or "" for none): a task sorts by its
        # first, and shorter first, then as text, is numeric order without a number type that holds them all;
        # tasks without a seed go last.
        first_space = (func.strpos if dialect == "postgresql" else func.instr)(func.substr(KeptTask.seeds, 2), " ")
        seed = case((KeptTask.seeds == "", ""), else_=func.substr(KeptTask.seeds, 2, first_space - 1))
        return (KeptTask.seeds == "", func.length(seed), seed, KeptTask.created_at.desc(), KeptTask.id.desc())
    return KeptTask.created_at.desc(), KeptTask.id.desc()


def _fts_words(terms: list[Term]) -> str:
    """An FTS5 query: every word as a prefix, every phrase as a phrase, all of them required."""
    parts = []
    for term in terms:
        quoted = '"' + term.text.replace('"', '""') + '"'
        parts.append(quoted if term.phrase else quoted + " *")
    return " AND ".join(parts)


def _ts_words(terms: list[Term]) -> str:
    """A PostgreSQL tsquery: words as prefixes (`:*`), phrases as `<->` sequences, all of them required."""
    parts = []
    for term in terms:
        words = [_ts_lexeme(word) for word in term.text.split() if _ts_lexeme(word)]
        if not words:
            continue
        parts.append("(" + " <-> ".join(words) + ")" if term.phrase else words[0] + ":*")
    return " & ".join(parts) or "''"


def _ts_lexeme(word: str) -> str:
    """A word quoted as a tsquery lexeme, lower-cased as the 'simple' configuration indexes it."""
    return "'" + word.lower().replace("\\", "").replace("'", "''") + "'" if word.strip() else ""


def _sqlite_substring(text_: str, n: int):
    """Text of an unspaced script anywhere in the prompt: the trigram index for 3+ characters, else a scan."""
    if len(text_) >= 3:
        return text(f"kept_tasks.seq IN (SELECT rowid FROM kept_tasks_grams WHERE kept_tasks_grams MATCH :g{n})"
                    ).bindparams(**{f"g{n}": '"' + text_.replace('"', '""') + '"'})
    return func.instr(KeptTask.prompt, text_) > 0


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _row(task: Task, record: object, source: str, now: datetime) -> dict:
    """The columns of one kept task."""
    shape = aspect(task.size)
    seeds = " ".join(image.seed for image in task.images if image.seed)
    return {
        "id": task.id,
        "status": str(task.status),
        "prompt": task.prompt,
        "model": task.model,
        "size": task.size,
        "ratio": shape[0] / shape[1] if shape else None,
        "action": task.action,
        "seeds": f" {seeds} " if seeds else "",
        "image_count": len(task.images),
        "created_at": task.created_at or now,
        "finished_at": task.finished_at,
        "error_code": task.error_code,
        "record": public_record(record),
        "first_seen": now,
        "last_seen": now,
        "source": source,
    }


def _read_cursor(cursor: str, kind: str) -> tuple:
    """The position a cursor of `kind` holds: Recent's (time, ID) or search's offset; BadCursor for anything else."""
    return read_cursor(cursor, kind, _recent_position if kind == "r" else _offset)


def _recent_position(parts: list) -> tuple:
    return datetime.fromisoformat(parts[0]), str(parts[1])


def _offset(parts: list) -> tuple:
    offset = int(parts[0])
    if offset < 0:
        raise ValueError
    return (offset,)
