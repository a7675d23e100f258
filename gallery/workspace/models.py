"""The workspace's tables: every finished task this server has seen, kept for good."""

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, Index, Integer, String, Text
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
