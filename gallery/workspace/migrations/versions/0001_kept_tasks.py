"""Kept tasks, with full-text search over their prompts.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite: two full-text indexes over the prompt. Words (unicode61, with prefix indexes) find "lighth" in
# "lighthouse"; trigrams find text in scripts written without spaces (猫 in 一只白色的暹罗猫). Triggers keep
# both in step with the table.
SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE kept_tasks_words USING fts5(prompt, content='kept_tasks', content_rowid='seq', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE VIRTUAL TABLE kept_tasks_grams USING fts5(prompt, content='kept_tasks', content_rowid='seq', "
    "tokenize='trigram')",
    """CREATE TRIGGER kept_tasks_search_insert AFTER INSERT ON kept_tasks BEGIN
         INSERT INTO kept_tasks_words(rowid, prompt) VALUES (new.seq, new.prompt);
         INSERT INTO kept_tasks_grams(rowid, prompt) VALUES (new.seq, new.prompt);
       END""",
    """CREATE TRIGGER kept_tasks_search_delete AFTER DELETE ON kept_tasks BEGIN
         INSERT INTO kept_tasks_words(kept_tasks_words, rowid, prompt) VALUES ('delete', old.seq, old.prompt);
         INSERT INTO kept_tasks_grams(kept_tasks_grams, rowid, prompt) VALUES ('delete', old.seq, old.prompt);
       END""",
    """CREATE TRIGGER kept_tasks_search_update AFTER UPDATE OF prompt ON kept_tasks BEGIN
         INSERT INTO kept_tasks_words(kept_tasks_words, rowid, prompt) VALUES ('delete', old.seq, old.prompt);
         INSERT INTO kept_tasks_grams(kept_tasks_grams, rowid, prompt) VALUES ('delete', old.seq, old.prompt);
         INSERT INTO kept_tasks_words(rowid, prompt) VALUES (new.seq, new.prompt);
         INSERT INTO kept_tasks_grams(rowid, prompt) VALUES (new.seq, new.prompt);
       END""",
]
# PostgreSQL: a GIN index over the prompt's words ('simple': no stemming, any language) and a trigram index
# (pg_trgm, a trusted extension a database owner may create) for substring search.
POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_kept_tasks_words ON kept_tasks USING gin (to_tsvector('simple', coalesce(prompt, '')))",
    "CREATE INDEX ix_kept_tasks_grams ON kept_tasks USING gin (prompt gin_trgm_ops)",
]


def upgrade() -> None:
    op.create_table(
        "kept_tasks",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("prompt", sa.Text()),
        sa.Column("model", sa.String(64)),
        sa.Column("size", sa.String(32)),
        sa.Column("ratio", sa.Float()),
        sa.Column("action", sa.String(32)),
        sa.Column("seeds", sa.Text(), nullable=False),
        sa.Column("image_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("error_code", sa.String(64)),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_index("ix_kept_tasks_recent", "kept_tasks", ["created_at", "id"])
    op.create_index("ix_kept_tasks_model", "kept_tasks", ["model"])
    statements = SQLITE_SEARCH if op.get_bind().dialect.name == "sqlite" else POSTGRES_SEARCH
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS kept_tasks_words")
        op.execute("DROP TABLE IF EXISTS kept_tasks_grams")
    op.drop_table("kept_tasks")
