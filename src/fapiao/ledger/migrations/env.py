"""Alembic environment: runs on the engine fapiao hands over (see ledger/db.py)."""

from alembic import context

from fapiao.tables import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
