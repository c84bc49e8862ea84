"""Alembic's environment for the index: run by EventIndex.upgrade() on the connection it passes in
`config.attributes["connection"]` (there is no alembic.ini to find)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from energy_grid.index.models import Base

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    # render_as_batch: SQLite alters a table by copying it, which later migrations may need.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations(context.config.attributes["connection"])
