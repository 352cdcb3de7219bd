"""Alembic's entry point: run the migrations on the connection ``coursekit.log.schema`` hands over.

The caller holds the schema lock and owns the transaction, so a crash leaves either the old or
the new schema, never half of one (SQLite and PostgreSQL both roll DDL back).
"""

from alembic import context

from coursekit.log.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
