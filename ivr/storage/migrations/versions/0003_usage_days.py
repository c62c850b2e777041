"""Daily usage totals kept for good, and which raw events they already hold (events.rolled).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "usage_days" in inspector.get_table_names():
        return  # a file whose revision row was lost keeps its totals
    if "rolled" not in {column["name"] for column in inspector.get_columns("events")}:
        # NULL: not in its day's totals yet. A nullable column rewrites nothing on either database.
        op.add_column("events", sa.Column("rolled", sa.Integer))
        # Only the events not rolled up yet (a day or two of them): which days the report reads raw.
        op.create_index("events_unrolled", "events", ["day", "kind", "subject"],
                        sqlite_where=sa.text("rolled IS NULL"), postgresql_where=sa.text("rolled IS NULL"))
    op.create_table("usage_days",
                    sa.Column("day", sa.Text, primary_key=True),
                    sa.Column("part", sa.Text, nullable=False),
                    sa.Column("rolled_at", sa.Float, nullable=False),
                    sa.Column("raw_kept", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    op.drop_table("usage_days")
    op.drop_index("events_unrolled", "events")
    op.drop_column("events", "rolled")
