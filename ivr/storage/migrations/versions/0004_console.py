"""The staff console: accounts, their sessions (hashes of the session ids) and the console's audit log.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "users" in sa.inspect(op.get_bind()).get_table_names():
        return  # a file whose revision row was lost (0001 made it from the current tables) keeps them
    op.create_table("users",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("username", sa.Text, nullable=False, unique=True),
                    sa.Column("role", sa.Text, nullable=False),
                    sa.Column("password_hash", sa.Text, nullable=False),
                    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
                    sa.Column("failed_count", sa.Integer, nullable=False, server_default="0"),
                    sa.Column("locked_until", sa.Float),
                    sa.Column("created", sa.Float, nullable=False),
                    sa.Column("password_changed", sa.Float, nullable=False))
    op.create_table("console_sessions",
                    sa.Column("id_hash", sa.Text, primary_key=True),
                    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
                    sa.Column("created", sa.Float, nullable=False),
                    sa.Column("last_seen", sa.Float, nullable=False),
                    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("console_sessions_by_user", "console_sessions", ["user_id"])
    op.create_table("audit",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("at", sa.Float, nullable=False),
                    sa.Column("actor", sa.Text, nullable=False),
                    sa.Column("action", sa.Text, nullable=False),
                    sa.Column("subject", sa.Text, nullable=False, server_default=""),
                    sa.Column("detail", sa.Text, nullable=False, server_default=""))
    op.create_index("audit_by_time", "audit", ["at"])


def downgrade() -> None:
    op.drop_table("audit")
    op.drop_table("console_sessions")
    op.drop_table("users")
