"""The workspace database: SQLAlchemy through Flask-SQLAlchemy, SQLite by default, PostgreSQL for several servers."""

import fcntl
import logging
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from flask_migrate import Migrate, upgrade
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase

log = logging.getLogger(__name__)

MIGRATIONS = str(Path(__file__).with_name("migrations"))


class Base(DeclarativeBase):
    """The declarative base every workspace table derives from."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate(directory=MIGRATIONS, render_as_batch=True)


def database_url(configured: str, instance_path: str) -> str:
    """The configured URL with the psycopg 3 driver named, or SQLite in the instance folder when none is set."""
    if not configured:
        return f"sqlite:///{Path(instance_path) / 'gallery.db'}"
    url = make_url(configured)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3, not SQLAlchemy's default psycopg2
    return url.render_as_string(hide_password=False)


def init_app(app: Flask, url: str) -> None:
    """Bind the database to `app` and bring its schema up to date (every process may; one at a time does)."""
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    # A pooled connection that the server dropped (a PostgreSQL restart) is noticed before use, not mid-request.
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    if url.startswith("sqlite:"):
        Path(make_url(url).database or "").parent.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    migrate.init_app(app, db)
    with app.app_context(), _migration_lock(url, app.instance_path):
        upgrade(directory=MIGRATIONS)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(connection, _record) -> None:
    """WAL lets readers and one writer work at once, so gunicorn's workers can share the file; the busy
    timeout makes a writer wait for another instead of failing at once."""
    if type(connection).__module__.startswith("sqlite3"):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a power cut may lose the last commit only
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@contextmanager
def _migration_lock(url: str, instance_path: str):
    """Only one process migrates at a time: gunicorn's workers start together. PostgreSQL takes an advisory
    lock inside the migration itself (see migrations/env.py); SQLite files get a lock file beside them."""
    if not url.startswith("sqlite:"):
        yield
        return
    database = make_url(url).database or ""
    lock_path = Path(f"{database}.migrate-lock") if database and database != ":memory:" else \
        Path(instance_path) / "migrate-lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
