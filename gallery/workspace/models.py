"""The workspace's tables: every finished task this server has seen, kept for good; collections, picks, comments."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gallery.workspace.db import Base

SOURCES = ("viewed", "callback", "import")


class KeptTask(Base):
    """A finished (done or failed) task: the fields cards show and search uses, and the record it came from."""

    __tablename__ = "kept_tasks"

    # An integer key that never changes, for SQLite's full-text tables to point at (a rowid may move on VACUUM).
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    prompt: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[str | None] = mapped_column(String(32))
    ratio: Mapped[float | None] = mapped_column(Float)  # width / height of the size or ratio asked for
    action: Mapped[str | None] = mapped_column(String(32))
    seeds: Mapped[str] = mapped_column(Text, default="")  # " 281520112 90412277 ": whole-token matches by LIKE
    image_count: Mapped[int] = mapped_column(Integer, default=0)
    # When the task was created upstream; when a record has none, when this server first saw it.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_code: Mapped[str | None] = mapped_column(String(64))
    record: Mapped[dict] = mapped_column(JSON)  # as the API gave it, less the account fields
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(16))  # how it first arrived: viewed, callback or import

    __table_args__ = (
        Index("ix_kept_tasks_recent", "created_at", "id"),  # Recent's keyset, newest first
        Index("ix_kept_tasks_model", "model"),
    )


# ---- Collections, picks and comments (issue 11) -------------------------------------------------------------

WHOLE_TASK = -1  # the image index of an item that is a whole task (all its images), so one unique key covers both


class Collection(Base):
    """A titled, ordered list of images and tasks a teammate put together, reached by an unguessable slug."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(24), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(40))  # the display name of whoever made it
    author_id: Mapped[str] = mapped_column(String(32))  # their author id: who may delete it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    image_count: Mapped[int] = mapped_column(Integer, default=0)  # images, plus one per unfinished task item
    revision: Mapped[int] = mapped_column(Integer, default=0)  # +1 on every edit: the `version` pollers compare

    __table_args__ = (Index("ix_collections_newest", "created_at", "id"),)


class CollectionItem(Base):
    """One entry of a collection: an image of a task, or a whole task (image_index WHOLE_TASK) not yet finished."""

    __tablename__ = "collection_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    task_id: Mapped[str] = mapped_column(String(36))
    image_index: Mapped[int] = mapped_column(Integer)
    # Sparse (steps of collections.GAP), so moving one item rewrites one row; renumbered when a gap runs out.
    position: Mapped[int] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("collection_id", "task_id", "image_index", name="uq_collection_items_ref"),
        Index("ix_collection_items_order", "collection_id", "position"),
    )


class Pick(Base):
    """One teammate's pick (star) of one image."""

    __tablename__ = "picks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(String(36))
    image_index: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("task_id", "image_index", "author_id", name="uq_picks_author"),)


class Comment(Base):
    """A plain-text comment on one image, by a display name; only its author may edit or delete it."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(String(36))
    image_index: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[str] = mapped_column(String(32))
    author: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_comments_image", "task_id", "image_index", "id"),)


class Activity(Base):
    """A change to an image's picks or comments, numbered in order: what `/api/activity?since=` reads."""

    __tablename__ = "image_activity"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(String(36))
    image_index: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_image_activity_task", "task_id", "seq"),)
