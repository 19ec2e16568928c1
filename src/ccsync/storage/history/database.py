"""One SQL database (SQLite or PostgreSQL) for the stores that live in it.

``SqlDatabase.open`` connects and runs the alembic migrations; the history store and the
job store then share it: ``read()`` for a connection, ``write()`` for one write
transaction, ``insert()`` for the dialect's upsert-capable ``INSERT``.

URLs: ``sqlite:///relative.db``, ``sqlite:////absolute.db`` (aiosqlite), and
``postgresql://…`` / ``postgres://…`` (asyncpg; libpq-style ``?host=/socket/dir`` and a few
other libpq parameters are translated). On SQLite writes take turns (one lock per process
plus ``BEGIN IMMEDIATE``: one writer per file); on PostgreSQL any number of processes
write, serialised where it matters by advisory locks (``advisory_lock_key``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from alembic.util import CommandError
from sqlalchemy import Table, event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ccsync.private import private_file
from ccsync.redaction import mask_url
from ccsync.storage import StorageUnavailableError
from ccsync.storage.history.migrations import differences, upgrade
from ccsync.storage.history.urls import Backend, parse_history_url, quote_ident

PING_TIMEOUT_S = 5.0

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)
_BEGIN_MODE = "ccsync_sqlite_begin"
"""Execution option: the SQLite ``BEGIN`` mode (``IMMEDIATE`` for writes)."""

# Errors that mean "the database cannot be used right now" (rather than a bad request).
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    OperationalError,
    InterfaceError,
)


def advisory_lock_key(*parts: str) -> int:
    """A stable signed 64-bit PostgreSQL advisory lock key."""
    digest = hashlib.blake2b("\x00".join(("ccsync", *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class SqlDatabase:
    """An open database at its newest schema revision; see the module doc."""

    def __init__(
        self,
        engine: AsyncEngine,
        backend: Backend,
        url: str,
        schema: str | None = None,
        secret: str | None = None,
    ) -> None:
        self.engine = engine
        self.backend: Backend = backend
        self.schema = schema
        """The PostgreSQL schema holding every table (``None``: the default one)."""
        self.revision: str | None = None
        """The migration revision the database is at (after ``open``)."""
        self._display_url = mask_url(url)
        self._secret = secret
        self._write_lock = asyncio.Lock() if backend == "sqlite" else None

    @classmethod
    async def open(cls, url: str, *, schema: str | None = None) -> SqlDatabase:
        """Connect and bring the schema up to date.

        ``schema`` (PostgreSQL only) holds every table and the migration version table; it
        is created when missing. ``ValueError`` for an unusable URL;
        ``StorageUnavailableError`` (one line, password masked) when the database cannot
        be reached or migrated.
        """
        target = parse_history_url(url, schema)
        secret = target.url.password if isinstance(target.url.password, str) else None
        if target.sqlite_path is not None:
            try:
                private_file(target.sqlite_path)
            except OSError as exc:
                raise StorageUnavailableError(
                    f"history store {mask_url(url)} is unavailable: {_one_line(exc, None)}"
                ) from exc
        engine = create_async_engine(
            target.url,
            connect_args=target.connect_args,
            pool_pre_ping=target.backend == "postgresql",
        )
        if target.backend == "sqlite":
            _install_sqlite_hooks(engine)
        db = cls(engine, target.backend, url, schema, secret)
        try:
            await db._migrate()
        except BaseException as exc:
            await engine.dispose()
            if isinstance(exc, DBAPIError | OSError | TimeoutError | CommandError):
                raise db.unavailable(exc) from exc
            raise
        return db

    async def ping(self) -> None:
        """Check the database answers; ``StorageUnavailableError`` when not."""
        try:
            async with asyncio.timeout(PING_TIMEOUT_S), self.read() as conn:
                await conn.execute(text("SELECT 1"))
        except TimeoutError as exc:
            raise self.unavailable(exc) from exc

    async def aclose(self) -> None:
        await self.engine.dispose()

    async def schema_differences(self) -> list[Any]:
        """What differs between the database and ``schema.py`` (alembic autogenerate ops)."""
        async with self.read() as conn:
            return await conn.run_sync(differences)

    def unavailable(self, exc: BaseException) -> StorageUnavailableError:
        return StorageUnavailableError(
            f"history store {self._display_url} is unavailable: {_one_line(exc, self._secret)}"
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.connect() as conn:
                yield conn
        except _UNAVAILABLE as exc:
            raise self.unavailable(exc) from exc

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction (committed on success); on SQLite, one at a time."""
        try:
            if self._write_lock is None:
                async with self.engine.begin() as conn:
                    yield conn
            else:
                async with self._write_lock, self.engine.connect() as conn:
                    await conn.execution_options(**{_BEGIN_MODE: "IMMEDIATE"})
                    async with conn.begin():
                        yield conn
        except _UNAVAILABLE as exc:
            raise self.unavailable(exc) from exc

    def insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """The dialect's ``INSERT`` (both have ``on_conflict_do_nothing/do_update``)."""
        if self.backend == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    async def _migrate(self) -> None:
        async with self.write() as conn:
            if self.backend == "postgresql":
                # Several servers may start at once: one migrates, the others then find
                # the schema up to date.
                key = advisory_lock_key("migrate", self.schema or "")
                await conn.execute(select(func.pg_advisory_xact_lock(key)))
                if self.schema is not None:
                    exists = await conn.scalar(
                        text("SELECT 1 FROM pg_namespace WHERE nspname = :name"),
                        {"name": self.schema},
                    )
                    if exists is None:
                        await conn.execute(text(f"CREATE SCHEMA {quote_ident(self.schema)}"))
            self.revision = await conn.run_sync(upgrade, self.schema)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    """Pragmas on every connection, and ``BEGIN`` emitted by us (``IMMEDIATE`` for writes).

    The driver's own implicit transactions are switched off (``isolation_level = None``):
    they would start a read transaction that a later write could not upgrade.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_MODE, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _one_line(exc: BaseException, secret: str | None) -> str:
    """``Type: message`` of the root cause, on one line, without the password."""
    cause: BaseException = exc
    if isinstance(exc, DBAPIError) and isinstance(exc.orig, BaseException):
        cause = exc.orig
    while cause.__cause__ is not None:  # the driver's own error under the adapter's
        cause = cause.__cause__
    message = str(cause).strip().splitlines()
    first = message[0] if message else ""
    described = f"{type(cause).__name__}: {first}" if first else type(cause).__name__
    if secret:
        described = described.replace(secret, "***")
    return described
