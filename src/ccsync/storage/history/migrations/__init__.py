"""Alembic migrations of the history database, run by ``SqlHistoryStore.open``.

There is no ``alembic.ini``: the store builds the configuration in code and hands its
connection to ``env.py`` (``config.attributes["connection"]``). A schema change is a new
file in ``versions/`` (``down_revision`` = the previous one) plus the same change in
``schema.py``; the contract tests check that both agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from ccsync.storage.history import schema as t

SCRIPT_LOCATION = Path(__file__).resolve().parent
"""The directory alembic's ``script_location`` points at."""


def upgrade(connection: Connection, schema: str | None, revision: str = "head") -> str | None:
    """Run the migrations up to ``revision`` (the newest); the revision the database is at."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    command.upgrade(config, revision)
    context = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    return context.get_current_revision()


def differences(connection: Connection) -> list[Any]:
    # The version table is in the store's schema, which the connection's search path makes
    # the default one: reflection sees it unqualified, so alembic must look for it so too.
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, t.metadata))
