"""Callback requests: a family's number (encrypted, and as a keyed hash), language, reason, topics,
recording SID, status and staff note, until `ivr callbacks purge` deletes them.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_OPEN = "status IN ('new', 'in_progress')"


def upgrade() -> None:
    if "callbacks" in sa.inspect(op.get_bind()).get_table_names():
        return  # a file whose revision row was lost (0001 made it from the current tables) keeps it
    op.create_table("callbacks",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("number_hash", sa.Text, nullable=False),
                    sa.Column("number_encrypted", sa.Text, nullable=False),
                    sa.Column("number_verified", sa.Boolean, nullable=False, server_default=sa.false()),
                    sa.Column("language", sa.Text, nullable=False),
                    sa.Column("reason", sa.Text, nullable=False),
                    sa.Column("topics", sa.Text, nullable=False, server_default=""),
                    sa.Column("recording_sid", sa.Text),
                    sa.Column("created", sa.Float, nullable=False),
                    sa.Column("updated", sa.Float, nullable=False),
                    sa.Column("status", sa.Text, nullable=False, server_default="new"),
                    sa.Column("taken_by", sa.Text),
                    sa.Column("note", sa.Text, nullable=False, server_default=""),
                    sa.Column("closed_at", sa.Float))
    op.create_index("callbacks_open_by_number", "callbacks", ["number_hash"], unique=True,
                    sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN))
    op.create_index("callbacks_by_closed", "callbacks", ["closed_at"])
    op.create_index("callbacks_by_created", "callbacks", ["created"])


def downgrade() -> None:
    op.drop_table("callbacks")
