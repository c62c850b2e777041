"""Callback requests keep when they were last asked for by the family (`asked`), so a replayed
recording callback of an older ask never replaces the newer message. Rows from before have none.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "asked" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("callbacks")}:
        return  # a file whose revision row was lost (0001 made it from the current tables) keeps it
    op.add_column("callbacks", sa.Column("asked", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("asked")
