"""Alembic's environment: runs the migrations on the connection the store passes in.

``config.attributes`` holds ``connection`` (a SQLAlchemy ``Connection`` inside an open
transaction) and ``schema`` (the PostgreSQL schema of the alembic version table, or None).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from ccsync.storage.history.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "ccsync runs its migrations itself (SqlHistoryStore.open); there is no alembic.ini"
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table_schema=config.attributes.get("schema"),
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
