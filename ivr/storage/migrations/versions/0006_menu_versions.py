"""Every version of menus.yaml: its text, hash, who made, approved and published it, and its state.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "menu_versions" in sa.inspect(op.get_bind()).get_table_names():
        return  # a file whose revision row was lost (0001 made it from the current tables) keeps it
    op.create_table("menu_versions",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("yaml", sa.Text, nullable=False),
                    sa.Column("sha256", sa.Text, nullable=False),
                    sa.Column("created", sa.Float, nullable=False),
                    sa.Column("created_by", sa.Text, nullable=False),
                    sa.Column("source", sa.Text, nullable=False),
                    sa.Column("state", sa.Text, nullable=False),
                    sa.Column("approved_by", sa.Text),
                    sa.Column("approved_at", sa.Float),
                    sa.Column("published_at", sa.Float),
                    sa.Column("published_by", sa.Text),
                    sa.Column("note", sa.Text, nullable=False, server_default=""),
                    sa.Column("base_id", sa.Integer, sa.ForeignKey("menu_versions.id")),
                    sa.Column("authors", sa.Text, nullable=False, server_default=""),
                    sa.Column("updated", sa.Float))
    op.create_index("menu_versions_by_sha256", "menu_versions", ["sha256"])
    op.create_index("menu_versions_one_published", "menu_versions", ["state"], unique=True,
                    sqlite_where=sa.text("state = 'published'"),
                    postgresql_where=sa.text("state = 'published'"))


def downgrade() -> None:
    op.drop_table("menu_versions")
