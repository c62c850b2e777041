"""The first schema: the key fingerprint, the opt-out list, texts sent and sends in flight.

A SQLite file made before migrations existed already has these tables (the same ones): only what
is missing is created, and the file is then at this revision.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "meta" not in existing:
        op.create_table("meta",
                        sa.Column("name", sa.Text, primary_key=True),
                        sa.Column("value", sa.Text, nullable=False))
    if "opt_outs" not in existing:
        op.create_table("opt_outs",
                        sa.Column("number_hash", sa.Text, primary_key=True),
                        sa.Column("since", sa.Float, nullable=False))
    if "texts" not in existing:
        op.create_table("texts",
                        sa.Column("call_sid", sa.Text, primary_key=True),
                        sa.Column("node", sa.Text, primary_key=True),
                        sa.Column("caller_hash", sa.Text, nullable=False),
                        sa.Column("sent_at", sa.Float, nullable=False))
        op.create_index("texts_by_caller", "texts", ["caller_hash", "sent_at"])
        op.create_index("texts_by_age", "texts", ["sent_at"])
    if "sending" not in existing:
        op.create_table("sending",
                        sa.Column("call_sid", sa.Text, primary_key=True),
                        sa.Column("node", sa.Text, primary_key=True),
                        sa.Column("started_at", sa.Float, nullable=False))


def downgrade() -> None:
    for table in ("sending", "texts", "opt_outs", "meta"):
        op.drop_table(table)
