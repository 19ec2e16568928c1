"""The history store as a whole (``HistoryStore``): one database (SQLite or PostgreSQL),
migrated once, whose roles share it and outlive a reopen; URLs, and a database that cannot
be reached. Each role has its own suite: ``test_device_store.py``, ``test_entry_store.py``,
``test_block_store.py``, ``test_token_store.py``, ``test_settings_store.py``,
``test_job_store.py``, ``test_limit_store.py``, ``test_telemetry_store.py``.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from ccsync.storage import StorageUnavailableError
from ccsync.storage.history import open_history_store
from ccsync.storage.history.database import SqlDatabase
from ccsync.storage.history.migrations import SCRIPT_LOCATION
from ccsync.storage.history.sql import SqlHistoryStore
from ccsync.storage.history.tokens import TokenRecord
from ccsync.storage.history.urls import parse_history_url

from .conftest import Target
from .records import block, entry, kept_view

TABLES = {
    "devices",
    "entries",
    "blocks",
    "quarantined_entries",
    "tokens",
    "settings",
    "cron_jobs",
    "cron_runs",
    "history_identity",
    "device_marks",
    "limit_readings",
    "alert_history",
    "telemetry_points",
    "retention_sweeps",
    "alembic_version",
}


async def test_capabilities_name_the_backend(
    history_store: SqlHistoryStore, target: Target
) -> None:
    assert history_store.capabilities.backend == target.backend
    await history_store.ping()


async def test_migrations_create_the_declared_schema_once(
    history_store: SqlHistoryStore, target: Target
) -> None:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    assert history_store.capabilities.extra["schema_revision"] == head
    assert target.table_names() == TABLES
    assert await history_store.schema_differences() == []

    await history_store.devices.register_device("d1", "acc", 1)
    again = await target.open()  # migrating an up-to-date database changes nothing
    try:
        assert again.capabilities.extra["schema_revision"] == head
        assert await again.schema_differences() == []
        assert await again.devices.get_device("d1") is not None
    finally:
        await again.aclose()
    assert target.table_names() == TABLES


async def test_schema_differences_see_a_drift(
    history_store: SqlHistoryStore, target: Target
) -> None:
    """The comparison is not vacuous: a column the metadata lacks shows up."""
    if target.schema is None:
        path = parse_history_url(target.url).sqlite_path
        with closing(sqlite3.connect(str(path))) as conn:
            conn.execute("ALTER TABLE settings ADD COLUMN extra TEXT")
    else:
        with psycopg.connect(target.url, autocommit=True) as conn:
            conn.execute(f'ALTER TABLE "{target.schema}".settings ADD COLUMN extra TEXT')
    differences = await history_store.schema_differences()
    assert [(d[0], d[2], d[3].name) for d in differences] == [
        ("remove_column", "settings", "extra")
    ]


async def test_nothing_acknowledged_is_lost_across_reopen(target: Target) -> None:
    store = await target.open()
    first = [entry(0, tokens=100), entry(1, mid="n", device="d1")]
    assert (await store.entries.ingest("acc", "d1", first, 10)).accepted == 2
    await store.devices.register_device("d1", "acc", 11, name="laptop", hostname="h", version="1.0")
    await store.tokens.add_token(TokenRecord("t1", "device", "hash1", "l", "d1", 12))
    await store.settings.put_settings({"timezone": "Europe/Paris"})
    await store.blocks.replace_blocks("acc", "d1", [block("b1", 0)])
    await store.aclose()

    store = await target.open()
    try:
        assert kept_view(await store.entries.kept_entries("acc")) == [("d1", e) for e in first]
        device = await store.devices.get_device("d1")
        assert device is not None and (device.name, device.hostname, device.version) == (
            "laptop",
            "h",
            "1.0",
        )
        assert device.last_push_ms == 10
        assert await store.tokens.token_by_hash("hash1") == TokenRecord(
            "t1", "device", "hash1", "l", "d1", 12
        )
        assert await store.settings.get_settings() == {"timezone": "Europe/Paris"}
        assert await store.blocks.blocks("acc") == [block("b1", 0)]
        # Dedup after the reopen still sees the lines stored before it.
        better = entry(5, device="d2", tokens=500)
        assert (await store.entries.ingest("acc", "d2", [better], 20)).accepted == 1
        assert kept_view(await store.entries.kept_entries("acc")) == [
            ("d1", first[1]),
            ("d2", better),
        ]
        assert await store.entries.entry_count() == 3
    finally:
        await store.aclose()


async def test_open_creates_the_sqlite_directory(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "history.db"
    store = await open_history_store(f"sqlite:///{path}")
    try:
        await store.ping()
        assert path.is_file()
        assert store.capabilities.backend == "sqlite"
    finally:
        await store.aclose()


async def test_sqlite_connections_use_wal_and_the_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    store = await open_history_store(f"sqlite:///{path}")
    try:
        assert isinstance(store, SqlHistoryStore)
        async with store.engine.connect() as conn:
            for pragma, value in [("busy_timeout", 5000), ("foreign_keys", 1), ("synchronous", 1)]:
                assert (await conn.exec_driver_sql(f"PRAGMA {pragma}")).scalar() == value, pragma
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        await store.aclose()


async def test_unreachable_postgresql_fails_fast_with_a_masked_url() -> None:
    url = "postgresql://postgres:secret@127.0.0.1:1/x"
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError) as raised:
        await open_history_store(url)
    assert time.monotonic() - started < 5
    message = str(raised.value)
    assert "secret" not in message and "postgres:***@127.0.0.1:1/x" in message
    assert "\n" not in message and "refused" in message.lower()


async def test_ping_on_an_unreachable_postgresql_raises() -> None:
    url = "postgresql://postgres:secret@127.0.0.1:1/x"
    target = parse_history_url(url)
    engine = create_async_engine(target.url, connect_args=target.connect_args)
    store = SqlHistoryStore(SqlDatabase(engine, "postgresql", url, secret="secret"))
    started = time.monotonic()
    try:
        with pytest.raises(StorageUnavailableError) as raised:
            await store.ping()
    finally:
        await store.aclose()
    assert time.monotonic() - started < 5
    assert "secret" not in str(raised.value) and "***" in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u:p@h/db",
        "memory://",
        "redis://localhost",
        "sqlite://",
        "sqlite:///:memory:",
        "history.db",
    ],
)
async def test_unusable_urls_raise_value_error(url: str) -> None:
    with pytest.raises(ValueError, match=r"SQLite|unsupported"):
        await open_history_store(url)


async def test_a_schema_is_for_postgresql_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        await open_history_store(f"sqlite:///{tmp_path}/h.db", schema="s")


def test_url_translation() -> None:
    socket = parse_history_url("postgresql://postgres:@/postgres?host=/tmp/pg%20dir")
    assert socket.backend == "postgresql"
    assert socket.url.drivername == "postgresql+asyncpg"
    assert (socket.url.username, socket.url.password, socket.url.database) == (
        "postgres",
        None,
        "postgres",
    )
    assert socket.url.host is None and socket.connect_args["host"] == "/tmp/pg dir"
    assert socket.connect_args["timeout"] == 3.0

    tcp = parse_history_url(
        "postgres://u:p%40ss@db.example:5433/ccsync?sslmode=require&connect_timeout=2", "my schema"
    )
    assert (tcp.url.host, tcp.url.port, tcp.url.password) == ("db.example", 5433, "p@ss")
    assert tcp.connect_args["ssl"] == "require" and tcp.connect_args["timeout"] == 2.0
    assert tcp.connect_args["server_settings"] == {"search_path": '"my schema"'}
    with pytest.raises(ValueError, match="target_session_attrs"):
        parse_history_url("postgresql://h/db?target_session_attrs=any")

    relative = parse_history_url("sqlite:///data/h.db")
    assert relative.sqlite_path == Path("data/h.db")
    assert relative.url.drivername == "sqlite+aiosqlite"
    absolute = parse_history_url(f"sqlite:///{quote('/tmp/with space/h.db')}")
    assert absolute.sqlite_path == Path("/tmp/with space/h.db")


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    return config
