"""Usage events for `ivr usage`: kinds, nodes, outcomes, keyed hashes of SIDs; never a number or words.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "events" in sa.inspect(op.get_bind()).get_table_names():
        return  # a file whose revision row was lost keeps its events
    op.create_table("events",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("at", sa.Float, nullable=False),
                    sa.Column("day", sa.Text, nullable=False),
                    sa.Column("kind", sa.Text, nullable=False),
                    sa.Column("subject", sa.Text, nullable=False),
                    sa.Column("node", sa.Text),
                    sa.Column("language", sa.Text),
                    sa.Column("outcome", sa.Text),
                    sa.Column("value", sa.Integer))
    op.create_index("events_for_report", "events", ["day", "kind", "node", "language", "outcome", "value"])
    op.create_index("events_by_call", "events", ["kind", "subject", "at", "node", "day"])


def downgrade() -> None:
    op.drop_table("events")
