"""The workers serving the line: which menu each one serves and when it was last seen, for the
console's status page (no request data: a worker id, host name, process id and menu hash).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "workers" in sa.inspect(op.get_bind()).get_table_names():
        return  # a file whose revision row was lost (0001 made it from the current tables) keeps it
    op.create_table("workers",
                    sa.Column("id", sa.Text, primary_key=True),
                    sa.Column("host", sa.Text, nullable=False),
                    sa.Column("pid", sa.Integer, nullable=False),
                    sa.Column("started", sa.Float, nullable=False),
                    sa.Column("seen", sa.Float, nullable=False),
                    sa.Column("menu_sha256", sa.Text, nullable=False),
                    sa.Column("menu_loaded", sa.Text, nullable=False),
                    sa.Column("menu_error", sa.Text, nullable=False, server_default=""))
    op.create_index("workers_by_seen", "workers", ["seen"])


def downgrade() -> None:
    op.drop_table("workers")
