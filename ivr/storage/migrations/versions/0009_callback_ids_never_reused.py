"""Callback request ids are never reused: on SQLite the table is made again with AUTOINCREMENT (its
rows and indexes kept, its ids starting after the highest the table or the audit log has seen), so
after a purge a late recording callback or the audit log's "callback request N" never points to
another family. PostgreSQL's sequences never reuse ids: nothing to do there.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_OPEN = "status IN ('new', 'in_progress')"


def _autoincrement(bind) -> bool:
    made = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'callbacks'"))
    return "AUTOINCREMENT" in (made.scalar() or "").upper()


def _indexes(create: bool) -> None:
    # Dropped before and made after the copy: the batch copy would not keep the partial index's WHERE.
    if not create:
        for name in ("callbacks_open_by_number", "callbacks_by_closed", "callbacks_by_created"):
            op.drop_index(name, table_name="callbacks")
        return
    op.create_index("callbacks_open_by_number", "callbacks", ["number_hash"], unique=True,
                    sqlite_where=sa.text(_OPEN))
    op.create_index("callbacks_by_closed", "callbacks", ["closed_at"])
    op.create_index("callbacks_by_created", "callbacks", ["created"])


def _recreate(autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or _autoincrement(bind) == autoincrement:
        return  # PostgreSQL, or a table 0001 already made from the current tables
    _indexes(create=False)
    with op.batch_alter_table("callbacks", recreate="always",
                              table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass
    _indexes(create=True)
    if autoincrement:
        _past_ids(bind)


def _past_ids(bind) -> None:
    # Ids purged before this revision are gone from the table but named in the audit log ("callback
    # request N"): new requests start after the highest one named there too.
    named = [subject.rsplit(" ", 1)[-1] for (subject,) in bind.execute(sa.text(
        "SELECT subject FROM audit WHERE subject LIKE 'callback request %'"))]
    highest = max((int(n) for n in named if n.isdigit()), default=0)
    kept = bind.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'callbacks'")).scalar()
    if kept is None:
        bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('callbacks', :n)"),
                     {"n": highest})
    elif highest > kept:
        bind.execute(sa.text("UPDATE sqlite_sequence SET seq = :n WHERE name = 'callbacks'"),
                     {"n": highest})


def upgrade() -> None:
    _recreate(True)


def downgrade() -> None:
    _recreate(False)
