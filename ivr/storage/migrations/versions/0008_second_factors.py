"""The console's second factor: each account's TOTP secret (encrypted) and last used time step, and
its single-use recovery codes (hashed). The sessions of schedulers and admins end: they were started
without a second factor, which those roles now need.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "second_factors" in sa.inspect(op.get_bind()).get_table_names():
        return  # a file whose revision row was lost (0001 made it from the current tables) keeps them
    op.create_table("second_factors",
                    sa.Column("account", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
                    sa.Column("secret_encrypted", sa.Text, nullable=False),
                    sa.Column("enrolled_at", sa.Float),
                    sa.Column("last_step", sa.Integer))
    op.create_table("recovery_codes",
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("account", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
                    sa.Column("code_hash", sa.Text, nullable=False),
                    sa.Column("used_at", sa.Float))
    op.create_index("recovery_codes_by_account", "recovery_codes", ["account", "code_hash"], unique=True)
    # The roles that see families' details (roles.SEES_FAMILIES when this revision was written).
    op.execute(sa.text("UPDATE console_sessions SET revoked = :yes WHERE user_id IN "
                       "(SELECT id FROM users WHERE role IN ('scheduler', 'admin'))")
               .bindparams(yes=True))


def downgrade() -> None:
    op.drop_table("recovery_codes")
    op.drop_table("second_factors")
