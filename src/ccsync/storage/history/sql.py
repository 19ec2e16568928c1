"""The history store on SQLite or PostgreSQL: one SQLAlchemy Core implementation.

``SqlHistoryStore`` opens a ``database.SqlDatabase`` (connection, migrations, write
transactions) and hands it to one store per role: ``sql_devices``, ``sql_entries`` (with
``sql_ingest``, ``sql_requests`` and ``sql_marks``), ``sql_blocks``, ``sql_tokens``,
``sql_settings``, ``sql_jobs``, ``sql_limits`` and ``sql_telemetry``. Rows map to records
in one place, ``schema``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ccsync.storage.history.base import Capabilities, HistoryStore
from ccsync.storage.history.database import SqlDatabase
from ccsync.storage.history.sql_blocks import SqlBlockStore
from ccsync.storage.history.sql_devices import SqlDeviceStore
from ccsync.storage.history.sql_entries import SqlEntryStore
from ccsync.storage.history.sql_jobs import SqlJobStore
from ccsync.storage.history.sql_limits import SqlLimitStore
from ccsync.storage.history.sql_settings import SqlSettingsStore
from ccsync.storage.history.sql_telemetry import SqlTelemetryStore
from ccsync.storage.history.sql_tokens import SqlTokenStore


class SqlHistoryStore(HistoryStore):
    """Every role of the history store in one database (SQLite or PostgreSQL)."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db
        self._capabilities = Capabilities(backend=db.backend)
        if db.schema is not None:
            self._capabilities.extra["schema"] = db.schema
        if db.revision is not None:
            self._capabilities.extra["schema_revision"] = db.revision
        self._devices = SqlDeviceStore(db)
        self._entries = SqlEntryStore(db)
        self._blocks = SqlBlockStore(db)
        self._tokens = SqlTokenStore(db)
        self._settings = SqlSettingsStore(db)
        self._jobs = SqlJobStore(db)
        self._limits = SqlLimitStore(db)
        self._telemetry = SqlTelemetryStore(db)

    @classmethod
    async def open(cls, url: str, *, schema: str | None = None) -> SqlHistoryStore:
        """Connect, bring the schema up to date, and return the store (``SqlDatabase.open``)."""
        return cls(await SqlDatabase.open(url, schema=schema))

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def devices(self) -> SqlDeviceStore:
        return self._devices

    @property
    def entries(self) -> SqlEntryStore:
        return self._entries

    @property
    def blocks(self) -> SqlBlockStore:
        return self._blocks

    @property
    def tokens(self) -> SqlTokenStore:
        return self._tokens

    @property
    def settings(self) -> SqlSettingsStore:
        return self._settings

    @property
    def jobs(self) -> SqlJobStore:
        return self._jobs

    @property
    def limits(self) -> SqlLimitStore:
        return self._limits

    @property
    def telemetry(self) -> SqlTelemetryStore:
        return self._telemetry

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine (for diagnostics and tests; the store owns it)."""
        return self._db.engine

    async def ping(self) -> None:
        await self._db.ping()

    async def aclose(self) -> None:
        await self._db.aclose()

    async def schema_differences(self) -> list[Any]:
        """What differs between the database and ``schema.py`` (alembic autogenerate ops);
        empty when the migrations created exactly the declared tables."""
        return await self._db.schema_differences()
