"""Collections, picks and comments: the service the routes call, over the workspace database, no web in it.

A collection is an ordered list of items. An item is one image of a task, or a whole task that had not finished
when it was added (a finished whole task is stored as its images, so a later "add this image" is a duplicate
and "remove that image" finds its row). Positions are sparse, so a move rewrites one row; pages are keyset by
(position, id), so a collection of 10,000 images opens as fast as a short one.
"""

import logging
import secrets
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import String, and_, cast, delete, func, literal_column, null, or_, select, tuple_, union_all, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gallery.flux.models import TASK_ID, Status, Task
from gallery.workspace.cursors import aware, make_cursor, read_cursor
from gallery.workspace.models import WHOLE_TASK, Activity, Collection, CollectionItem, Comment, Pick

log = logging.getLogger(__name__)

GAP = 1 << 16  # room between neighbours: 16 moves into the same gap before the collection is renumbered
MAX_IMAGES = 10_000
MAX_REFS = 1_000
MAX_TITLE = 200
MAX_DESCRIPTION = 2_000
MAX_COMMENT = 2_000
MAX_NAME = 40
COVER = 4  # thumbnails on a collection's card in /collections
SLUG_BYTES = 9  # 72 bits of randomness, 12 URL-safe characters: far past guessing (at least 48 bits asked)
UNTITLED = "Untitled collection"
SCRIPT = "script"  # the author id of every write without a browser's name cookie


class CollectionError(ValueError):
    """A write that cannot be done as asked; `status` is the HTTP status that says why, the message says what."""

    status = 400


class NotFound(CollectionError):
    status = 404


class Forbidden(CollectionError):
    status = 403


class TooLarge(CollectionError):
    status = 413


@dataclass(frozen=True)
class Author:
    """Who writes: a display name, and the random id that says whether something is theirs."""

    id: str
    name: str


@dataclass(frozen=True, order=True)
class Ref:
    """An item reference: one image "<task id>-<n>", or a whole task "<task id>" (index WHOLE_TASK)."""

    task_id: str
    index: int = WHOLE_TASK

    def __str__(self) -> str:
        return self.task_id if self.index == WHOLE_TASK else f"{self.task_id}-{self.index}"

    @property
    def whole(self) -> bool:
        return self.index == WHOLE_TASK


@dataclass(frozen=True)
class Info:
    """A collection's own fields, without its items."""

    slug: str
    title: str
    description: str
    created_by: str
    author_id: str
    created_at: datetime
    updated_at: datetime
    image_count: int
    revision: int
    cover: tuple[Ref, ...] = ()

    @property
    def version(self) -> str:
        """Changes on any edit (title, items, order): what a page polls with."""
        return str(self.revision)


@dataclass(frozen=True)
class ItemPage:
    """One page of a collection's items in order, and the cursor of the next (None on the last)."""

    info: Info
    items: list[Ref]
    next: str | None


@dataclass(frozen=True)
class Marks:
    """An image's picks and comments as a viewer sees them."""

    picks: int = 0
    pickers: tuple[str, ...] = ()
    mine: bool = False
    comments: int = 0

    def to_json(self) -> dict:
        return {"picks": self.picks, "pickers": list(self.pickers), "mine": self.mine, "comments": self.comments}


@dataclass(frozen=True)
class CommentView:
    """One comment as the API shows it: `mine` when the viewer wrote it."""

    id: int
    author: str
    body: str
    created_at: datetime
    edited_at: datetime | None
    mine: bool
    task_id: str = ""
    index: int = 0

    def to_json(self) -> dict:
        return {"id": self.id, "author": self.author, "body": self.body, "created_at": self.created_at.isoformat(),
                "edited_at": self.edited_at.isoformat() if self.edited_at else None, "mine": self.mine,
                "ref": f"{self.task_id}-{self.index}"}


@dataclass
class _Counts:
    picks: list[tuple[str, str]] = field(default_factory=list)  # (name, author id)
    comments: int = 0


# ---- pure checks ----------------------------------------------------------------------------------------------

def parse_ref(value: object) -> Ref:
    """An item reference from its text; CollectionError naming it when it is neither form."""
    text = str(value).strip().lower() if isinstance(value, str) else ""
    if TASK_ID.fullmatch(text):
        return Ref(text)
    task_id, dash, index = text.rpartition("-")
    if dash and TASK_ID.fullmatch(task_id) and index.isdigit() and len(index) <= 4:
        return Ref(task_id, int(index))
    shown = value if isinstance(value, str) and len(value) <= 60 else "an item"
    raise CollectionError(f"{shown!r} is not a task ID or an image (\"<task id>-<n>\").")


def parse_image_ref(value: str) -> Ref:
    """An image reference "<task id>-<n>"; CollectionError for anything else (a whole task included)."""
    ref = parse_ref(value)
    if ref.whole:
        raise CollectionError("Name one image: \"<task id>-<n>\".")
    return ref


def parse_refs(values: object, limit: int = MAX_REFS) -> list[Ref]:
    """Item references from a JSON list, repeats dropped, at most `limit`; CollectionError for a bad one."""
    if not isinstance(values, list):
        raise CollectionError("\"items\" must be a list of task IDs and images (\"<task id>-<n>\").")
    if len(values) > limit:
        raise TooLarge(f"At most {limit:,} items per request; send the rest in another.")
    return list(dict.fromkeys(parse_ref(value) for value in values))


def entries(refs: Iterable[Ref], tasks: Mapping[str, Task]) -> list[Ref]:
    """What to store for `refs`: a finished whole task becomes its images; an image must exist in its task."""
    found: list[Ref] = []
    for ref in refs:
        task = tasks.get(ref.task_id)
        done = task is not None and task.status is Status.DONE and task.images
        if ref.whole:
            found += [Ref(ref.task_id, image.index) for image in task.images] if done else [ref]
        elif not done:
            raise CollectionError(f"Task {ref.task_id} has no images (yet): add the whole task instead of {ref}.")
        elif not 0 <= ref.index < len(task.images):
            raise CollectionError(f"Task {ref.task_id} has no image {ref.index}.")
        else:
            found.append(ref)
    return list(dict.fromkeys(found))


def clean_text(value: object, what: str, limit: int, *, lines: bool = True) -> str:
    """Plain text trimmed, at most `limit` characters, no control characters but (when `lines`) line breaks."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CollectionError(f"The {what} must be text.")
    text = value.replace("\r\n", "\n").strip()
    if len(text) > limit:
        raise TooLarge(f"The {what} can be at most {limit:,} characters long ({len(text):,} given).")
    allowed = {"\n", "\t"} if lines else set()
    if any(unicodedata.category(char) == "Cc" and char not in allowed for char in text):
        raise CollectionError(f"The {what} cannot hold control characters.")
    return text


def clean_name(value: object) -> str:
    """A display name: 1 to 40 characters after trimming, one line, no control characters."""
    name = clean_text(value, "name", MAX_NAME, lines=False)
    if not name:
        raise CollectionError("A name needs at least one character.")
    return name


def new_slug() -> str:
    """A short, unguessable link part: 72 random bits."""
    return secrets.token_urlsafe(SLUG_BYTES)


# ---- the service ------------------------------------------------------------------------------------------------

class Collections:
    """Collections, picks and comments in the workspace database; every write is one transaction."""

    def __init__(self, engine: Engine, *, clock=lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)
        self._clock = clock

    # --- collections ----------------------------------------------------------------------------------------

    def create(self, title: str, description: str, items: list[Ref], author: Author) -> Info:
        """A new collection holding `items` in order."""
        if len(items) > MAX_IMAGES:
            raise TooLarge(f"A collection holds at most {MAX_IMAGES:,} images; these are {len(items):,}.")
        now = self._clock()
        with self._session.begin() as session:
            row = Collection(slug=new_slug(), title=title or UNTITLED, description=description,
                             created_by=author.name, author_id=author.id, created_at=now, updated_at=now,
                             image_count=len(items), revision=1)
            session.add(row)
            session.flush()
            self._insert(session, row.id, items, 0, now)
            return _info(row)

    def info(self, slug: str) -> Info:
        """A collection's fields; NotFound for a slug no collection has."""
        with self._session() as session:
            return _info(self._find(session, slug))

    def add(self, slug: str, items: list[Ref]) -> tuple[int, Info]:
        """Append the `items` not in the collection yet (an image of a whole task in it counts as in it)."""
        now = self._clock()
        with self._session.begin() as session:
            row = self._find(session, slug, lock=True)
            present = self._present(session, row.id, {ref.task_id for ref in items})
            new = [ref for ref in items if ref not in present and Ref(ref.task_id) not in present]
            if row.image_count + len(new) > MAX_IMAGES:
                raise TooLarge(f"A collection holds at most {MAX_IMAGES:,} images: this one has "
                               f"{row.image_count:,}, and {len(new):,} more would pass that. Nothing was added.")
            if new:
                last = session.scalar(select(func.max(CollectionItem.position))
                                      .where(CollectionItem.collection_id == row.id))
                self._insert(session, row.id, new, (last if last is not None else -GAP) + GAP, now)
                self._touch(row, now, len(new))
            return len(new), _info(row)

    def remove(self, slug: str, refs: list[Ref]) -> tuple[int, Info]:
        """Take `refs` out: a whole task takes every item of that task, an image takes that image."""
        now = self._clock()
        with self._session.begin() as session:
            row = self._find(session, slug, lock=True)
            whole = [ref.task_id for ref in refs if ref.whole]
            images = [(ref.task_id, ref.index) for ref in refs if not ref.whole]
            matches = []
            if whole:
                matches.append(CollectionItem.task_id.in_(whole))
            if images:
                matches.append(tuple_(CollectionItem.task_id, CollectionItem.image_index).in_(images))
            removed = 0
            if matches:
                removed = session.execute(delete(CollectionItem).where(
                    CollectionItem.collection_id == row.id, or_(*matches))).rowcount or 0
            if removed:
                self._touch(row, now, -removed)
            return removed, _info(row)

    def move(self, slug: str, item: Ref, after: Ref | None) -> Info:
        """Put `item` right after `after` (None: first); only its own row changes, unless a gap must be widened."""
        now = self._clock()
        with self._session.begin() as session:
            row = self._find(session, slug, lock=True)
            moving = self._item(session, row.id, item)
            if after == item:
                return _info(row)
            for _ in range(2):
                spot = self._spot(session, row.id, moving, after)
                if spot is not None:
                    break
                self._renumber(session, row.id)
            moving.position = spot
            self._touch(row, now, 0)
            return _info(row)

    def update(self, slug: str, title: str | None, description: str | None) -> Info:
        """Change the title and/or the description."""
        now = self._clock()
        with self._session.begin() as session:
            row = self._find(session, slug, lock=True)
            if title is not None:
                row.title = title or UNTITLED
            if description is not None:
                row.description = description
            self._touch(row, now, 0)
            return _info(row)

    def delete(self, slug: str, author: Author) -> None:
        """Delete a collection; only its maker (same author id) may."""
        with self._session.begin() as session:
            row = self._find(session, slug, lock=True)
            if row.author_id != author.id:
                raise Forbidden("Only whoever made this collection can delete it.")
            session.execute(delete(CollectionItem).where(CollectionItem.collection_id == row.id))
            session.delete(row)

    def page(self, slug: str, cursor: str | None, limit: int, *, picked_only: bool = False,
             by_picks: bool = False) -> ItemPage:
        """A page of items in the collection's order (keyset), or most picked first (by position)."""
        with self._session() as session:
            row = self._find(session, slug)
            picks = _pick_count(CollectionItem.task_id, CollectionItem.image_index)
            statement = select(CollectionItem.task_id, CollectionItem.image_index, CollectionItem.position,
                               CollectionItem.id).where(CollectionItem.collection_id == row.id)
            if picked_only:
                statement = statement.where(picks > 0)
            if by_picks:
                offset = _read_cursor(cursor, "cp")[0] if cursor else 0
                statement = statement.order_by(picks.desc(), CollectionItem.position, CollectionItem.id)
                rows = session.execute(statement.offset(offset).limit(limit + 1)).all()
                following = make_cursor("cp", offset + limit) if len(rows) > limit else None
            else:
                if cursor:
                    position, item_id = _read_cursor(cursor, "c")
                    statement = statement.where(or_(CollectionItem.position > position,
                                                    and_(CollectionItem.position == position,
                                                         CollectionItem.id > item_id)))
                statement = statement.order_by(CollectionItem.position, CollectionItem.id).limit(limit + 1)
                rows = session.execute(statement).all()
                last = rows[limit - 1] if len(rows) > limit else None
                following = make_cursor("c", last.position, last.id) if last else None
            return ItemPage(_info(row), [Ref(r.task_id, r.image_index) for r in rows[:limit]], following)

    def contains(self, slug: str, ref: Ref) -> bool:
        """Whether an image is in the collection, by itself or as part of a whole task."""
        with self._session() as session:
            row = self._find(session, slug)
            return session.scalar(select(func.count()).select_from(CollectionItem).where(
                CollectionItem.collection_id == row.id, CollectionItem.task_id == ref.task_id,
                CollectionItem.image_index.in_((ref.index, WHOLE_TASK)))) > 0

    def all_items(self, slug: str, chunk: int = 500) -> Iterable[list[Ref]]:
        """Every item in order, `chunk` at a time (for the zip and the export: flat memory)."""
        cursor = None
        while True:
            page = self.page(slug, cursor, chunk)
            if page.items:
                yield page.items
            if page.next is None:
                return
            cursor = page.next

    def newest(self, cursor: str | None, limit: int) -> tuple[list[Info], str | None]:
        """Collections newest first (keyset), each with its first few items as a cover."""
        with self._session() as session:
            statement = select(Collection)
            if cursor:
                created_at, row_id = _read_cursor(cursor, "n")
                statement = statement.where(or_(Collection.created_at < datetime.fromisoformat(created_at),
                                                and_(Collection.created_at == datetime.fromisoformat(created_at),
                                                     Collection.id < row_id)))
            rows = session.scalars(statement.order_by(Collection.created_at.desc(), Collection.id.desc())
                                   .limit(limit + 1)).all()
            more = len(rows) > limit
            rows = rows[:limit]
            covers = self._covers(session, [row.id for row in rows])
            following = make_cursor("n", aware(rows[-1].created_at).isoformat(), rows[-1].id) if more else None
            return [_info(row, covers.get(row.id, ())) for row in rows], following

    def _covers(self, session: Session, ids: list[int]) -> dict[int, tuple[Ref, ...]]:
        """The first COVER items of each collection, in one query."""
        if not ids:
            return {}
        ranked = select(CollectionItem.collection_id, CollectionItem.task_id, CollectionItem.image_index,
                        func.row_number().over(partition_by=CollectionItem.collection_id,
                                               order_by=(CollectionItem.position, CollectionItem.id)).label("n")
                        ).where(CollectionItem.collection_id.in_(ids)).subquery()
        covers: dict[int, list[Ref]] = defaultdict(list)
        for row in session.execute(select(ranked).where(ranked.c.n <= COVER).order_by(ranked.c.collection_id,
                                                                                        ranked.c.n)):
            covers[row.collection_id].append(Ref(row.task_id, row.image_index))
        return {key: tuple(value) for key, value in covers.items()}

    def _find(self, session: Session, slug: str, lock: bool = False) -> Collection:
        statement = select(Collection).where(Collection.slug == slug)
        if lock:
            statement = statement.with_for_update()  # PostgreSQL: one writer per collection at a time
        row = session.scalars(statement).first()
        if row is None:
            raise NotFound("There is no collection at this address.")
        return row

    def _item(self, session: Session, collection_id: int, ref: Ref) -> CollectionItem:
        item = session.scalars(select(CollectionItem).where(
            CollectionItem.collection_id == collection_id, CollectionItem.task_id == ref.task_id,
            CollectionItem.image_index == ref.index)).first()
        if item is None:
            raise NotFound(f"{ref} is not in this collection.")
        return item

    def _present(self, session: Session, collection_id: int, task_ids: set[str]) -> set[Ref]:
        if not task_ids:
            return set()
        rows = session.execute(select(CollectionItem.task_id, CollectionItem.image_index).where(
            CollectionItem.collection_id == collection_id, CollectionItem.task_id.in_(task_ids)))
        return {Ref(task_id, index) for task_id, index in rows}

    def _spot(self, session: Session, collection_id: int, moving: CollectionItem, after: Ref | None) -> int | None:
        """A free position right after `after` (or before the first item), or None when there is no room."""
        others = and_(CollectionItem.collection_id == collection_id, CollectionItem.id != moving.id)
        if after is None:
            first = session.scalar(select(func.min(CollectionItem.position)).where(others))
            return moving.position if first is None else first - GAP
        anchor = self._item(session, collection_id, after)
        following = session.scalar(select(func.min(CollectionItem.position)).where(
            others, CollectionItem.position > anchor.position))
        if following is None:
            return anchor.position + GAP
        if following - anchor.position < 2:
            return None
        return (anchor.position + following) // 2

    def _renumber(self, session: Session, collection_id: int) -> None:
        """Spread every item GAP apart again, in order (rare: a gap runs out after about 16 moves into it)."""
        ids = session.scalars(select(CollectionItem.id).where(CollectionItem.collection_id == collection_id)
                              .order_by(CollectionItem.position, CollectionItem.id)).all()
        session.execute(update(CollectionItem), [{"id": item_id, "position": n * GAP} for n, item_id in enumerate(ids)])
        session.expire_all()

    @staticmethod
    def _insert(session: Session, collection_id: int, items: list[Ref], start: int, now: datetime) -> None:
        if items:
            session.execute(CollectionItem.__table__.insert(), [
                {"collection_id": collection_id, "task_id": ref.task_id, "image_index": ref.index,
                 "position": start + n * GAP, "added_at": now} for n, ref in enumerate(items)])

    @staticmethod
    def _touch(row: Collection, now: datetime, added: int) -> None:
        row.image_count += added
        row.revision += 1
        row.updated_at = now

    # --- picks --------------------------------------------------------------------------------------------------

    def pick(self, ref: Ref, author: Author, picked: bool) -> tuple[int, tuple[str, ...]]:
        """Pick (or unpick) an image as `author`; the image's pick count and pickers after."""
        with self._session.begin() as session:
            mine = (Pick.task_id == ref.task_id, Pick.image_index == ref.index, Pick.author_id == author.id)
            existing = session.scalars(select(Pick).where(*mine)).first()
            if picked and existing is None:
                session.add(Pick(task_id=ref.task_id, image_index=ref.index, author_id=author.id, name=author.name,
                                 created_at=self._clock()))
                self._log(session, ref)
            elif picked and existing.name != author.name:
                existing.name = author.name  # a renamed teammate's picks show the new name
                self._log(session, ref)
            elif not picked and existing is not None:
                session.delete(existing)
                self._log(session, ref)
        marks = self.marks([(ref.task_id, ref.index)], author.id).get((ref.task_id, ref.index), Marks())
        return marks.picks, marks.pickers

    # --- comments -----------------------------------------------------------------------------------------------

    def comments(self, ref: Ref, viewer: str) -> list[CommentView]:
        """An image's comments, oldest first."""
        with self._session() as session:
            rows = session.scalars(select(Comment).where(Comment.task_id == ref.task_id,
                                                         Comment.image_index == ref.index).order_by(Comment.id))
            return [_comment(row, viewer) for row in rows]

    def comment(self, ref: Ref, author: Author, body: str) -> CommentView:
        """Add a comment to an image."""
        with self._session.begin() as session:
            row = Comment(task_id=ref.task_id, image_index=ref.index, author_id=author.id, author=author.name,
                          body=body, created_at=self._clock(), edited_at=None)
            session.add(row)
            self._log(session, ref)
            session.flush()
            return _comment(row, author.id)

    def edit_comment(self, comment_id: int, author: Author, body: str) -> CommentView:
        """Change one's own comment."""
        with self._session.begin() as session:
            row = self._own_comment(session, comment_id, author)
            row.body = body
            row.edited_at = self._clock()
            self._log(session, Ref(row.task_id, row.image_index))
            return _comment(row, author.id)

    def delete_comment(self, comment_id: int, author: Author) -> None:
        """Delete one's own comment."""
        with self._session.begin() as session:
            row = self._own_comment(session, comment_id, author)
            self._log(session, Ref(row.task_id, row.image_index))
            session.delete(row)

    def _own_comment(self, session: Session, comment_id: int, author: Author) -> Comment:
        row = session.get(Comment, comment_id, with_for_update=True)
        if row is None:
            raise NotFound("There is no such comment (it may have been deleted).")
        if row.author_id != author.id:
            raise Forbidden("Only whoever wrote a comment can change or delete it.")
        return row

    @staticmethod
    def _log(session: Session, ref: Ref) -> None:
        session.add(Activity(task_id=ref.task_id, image_index=ref.index))

    # --- what pages show ----------------------------------------------------------------------------------------

    def marks(self, images: Iterable[tuple[str, int]], viewer: str) -> dict[tuple[str, int], Marks]:
        """Picks and comment counts of `images` (task ID, index; index WHOLE_TASK: any image of that task) as
        `viewer` sees them, in one query; images with neither are left out."""
        wanted = set(images)
        if not wanted:
            return {}
        whole = {task_id for task_id, index in wanted if index == WHOLE_TASK}
        task_ids = sorted({task_id for task_id, _ in wanted})
        picks = select(Pick.task_id, Pick.image_index, literal_column("'p'").label("kind"), Pick.name,
                       Pick.author_id, Pick.id.label("n")).where(Pick.task_id.in_(task_ids))
        notes = select(Comment.task_id, Comment.image_index, literal_column("'c'").label("kind"),
                       cast(null(), String(40)).label("name"), cast(null(), String(32)).label("author_id"),
                       func.count().label("n")
                       ).where(Comment.task_id.in_(task_ids)).group_by(Comment.task_id, Comment.image_index)
        counts: dict[tuple[str, int], _Counts] = defaultdict(_Counts)
        try:
            with self._session() as session:
                rows = session.execute(union_all(picks, notes).order_by("n")).all()
        except SQLAlchemyError:
            # Galleries show without their counts rather than fail while the database is away.
            log.exception("could not read picks and comments; showing the page without them")
            return {}
        for row in rows:
            key = (row.task_id, row.image_index)
            if key not in wanted and row.task_id not in whole:
                continue
            if row.kind == "p":
                counts[key].picks.append((row.name, row.author_id))
            else:
                counts[key].comments = int(row.n)
        return {key: Marks(picks=len(found.picks), pickers=tuple(name for name, _ in found.picks),
                           mine=any(author == viewer for _, author in found.picks), comments=found.comments)
                for key, found in counts.items()}

    def activity(self, task_ids: Iterable[str], since: int | None) -> tuple[set[tuple[str, int]] | None, int]:
        """Images of `task_ids` whose picks or comments changed after `since` (None: no since given, so every
        image counts), and the token to send next time."""
        task_ids = sorted(set(task_ids))
        with self._session() as session:
            token = session.scalar(select(func.max(Activity.seq))) or 0
            if since is None or not task_ids:
                return None, token
            rows = session.execute(select(Activity.task_id, Activity.image_index).where(
                Activity.task_id.in_(task_ids), Activity.seq > since, Activity.seq <= token).distinct())
            return {(task_id, index) for task_id, index in rows}, token


def _pick_count(task_id, image_index):
    """How many picks an item has (a whole task: its images' picks together), as a correlated subquery."""
    return (select(func.count(Pick.id)).where(Pick.task_id == task_id,
                                              or_(image_index == WHOLE_TASK, Pick.image_index == image_index))
            .correlate_except(Pick).scalar_subquery())


def _info(row: Collection, cover: tuple[Ref, ...] = ()) -> Info:
    return Info(slug=row.slug, title=row.title, description=row.description, created_by=row.created_by,
                author_id=row.author_id, created_at=aware(row.created_at), updated_at=aware(row.updated_at),
                image_count=row.image_count, revision=row.revision, cover=cover)


def _comment(row: Comment, viewer: str) -> CommentView:
    return CommentView(id=row.id, author=row.author, body=row.body, created_at=aware(row.created_at),
                       edited_at=aware(row.edited_at) if row.edited_at else None, mine=row.author_id == viewer,
                       task_id=row.task_id, index=row.image_index)


def _read_cursor(cursor: str, kind: str) -> tuple:
    """The position a cursor of `kind` holds: the collections list's (time, ID), or integers; BadCursor else."""
    return read_cursor(cursor, kind, _newest_position if kind == "n" else _integers if kind == "c" else _offset)


def _newest_position(parts: list) -> tuple:
    datetime.fromisoformat(parts[0])
    return str(parts[0]), int(parts[1])


def _integers(parts: list) -> tuple:
    return tuple(int(part) for part in parts)


def _offset(parts: list) -> tuple:
    values = _integers(parts)
    if values[0] < 0:
        raise ValueError
    return values
