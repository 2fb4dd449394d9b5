"""Alembic's entry: always run by `store.database.Database.migrate`, which passes in a
connection that already holds the migration lock."""

from __future__ import annotations

from alembic import context

from veil.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
