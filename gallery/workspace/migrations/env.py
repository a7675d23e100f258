"""Alembic's entry point for the workspace migrations, run by Flask-Migrate (`flask db upgrade`) and on start."""

import logging

from alembic import context
from flask import current_app
from sqlalchemy import text

log = logging.getLogger("alembic.env")
config = context.config
# Any number that no other part of the app uses: the PostgreSQL advisory lock one migrating server holds.
MIGRATION_LOCK = 727_274_001


def _metadata():
    return current_app.extensions["migrate"].db.metadata


def run_migrations_offline() -> None:
    """Write the SQL to standard output instead of running it (`flask db upgrade --sql`)."""
    context.configure(url=str(current_app.extensions["migrate"].db.engine.url), target_metadata=_metadata(),
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the app's engine; on PostgreSQL one server at a time, under an advisory lock."""
    engine = current_app.extensions["migrate"].db.engine
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()
        try:
            # Flask-Migrate's configure_args carry batch mode, so later migrations can alter SQLite tables.
            context.configure(connection=connection, target_metadata=_metadata(),
                              **current_app.extensions["migrate"].configure_args)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
