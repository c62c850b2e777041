"""Alembic's environment: always given a connection by ivr.storage.sql.upgrade (no alembic.ini)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
# The caller holds the transaction (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), so
# workers or release steps migrating together do it one after the other; this joins it.
with context.begin_transaction():
    context.run_migrations()
