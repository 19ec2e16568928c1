"""Where a contract test's store lives: the history database in a SQLite file or a
PostgreSQL schema; the live store in memory or under a Redis prefix of its own."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from ccsync.server.live_keys import is_server_owned
from ccsync.storage.history import (
    BlockStore,
    DeviceStore,
    EntryStore,
    HistoryStore,
    JobStore,
    SettingsStore,
    TokenStore,
    open_history_store,
)
from ccsync.storage.history.sql import SqlHistoryStore
from ccsync.storage.history.telemetry import TelemetryStore
from ccsync.storage.history.urls import parse_history_url
from ccsync.storage.live import LiveCaps, LiveStore
from ccsync.storage.live.memory import MemoryLiveStore
from ccsync.storage.live.redis import RedisLiveStore


@dataclass(frozen=True, slots=True)
class Target:
    """Where a test's store lives; opening it twice reaches the same data."""

    backend: str
    url: str
    schema: str | None = None

    async def open(self) -> SqlHistoryStore:
        store = await open_history_store(self.url, schema=self.schema)
        assert isinstance(store, SqlHistoryStore)
        return store

    def table_names(self) -> set[str]:
        if self.schema is None:
            path = parse_history_url(self.url).sqlite_path
            with closing(sqlite3.connect(str(path))) as conn:
                rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                return {name for (name,) in rows}
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (self.schema,),
            )
            return {name for (name,) in rows}


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.services),
    ]
)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    if request.param == "sqlite":
        return Target("sqlite", f"sqlite:///{quote(str(tmp_path / 'data' / 'history.db'))}")
    return Target(
        "postgresql",
        request.getfixturevalue("database_url"),
        request.getfixturevalue("pg_schema"),
    )


@pytest.fixture
async def history_store(target: Target) -> AsyncIterator[SqlHistoryStore]:
    store = await target.open()
    try:
        yield store
    finally:
        await store.aclose()


# -- live stores (memory or Redis) -----------------------------------------------------------

DEFAULT_TTL = 60.0
SHORT_TTL = 0.2
PAST_SHORT_TTL = 0.35

SMALL_CAPS = LiveCaps(value_bytes=100, keys=3, total_bytes=250, exempt=is_server_owned)
"""Caps small enough to reach in a test (client keys: any key not owned by the server)."""

LiveFactory = Callable[[], Awaitable[LiveStore]]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
async def live_store(request: pytest.FixtureRequest) -> AsyncIterator[LiveStore]:
    store: LiveStore
    if request.param == "memory":
        store = MemoryLiveStore(DEFAULT_TTL)
    else:
        url = request.getfixturevalue("redis_url")
        store = RedisLiveStore(url, DEFAULT_TTL, request.getfixturevalue("redis_prefix"))
    yield store
    await store.aclose()


@pytest.fixture
async def redis_replicas(redis_url: str, redis_prefix: str) -> AsyncIterator[LiveFactory]:
    """Makes stores on the same Redis and prefix, as separate server processes would."""
    stores: list[LiveStore] = []

    async def replica() -> LiveStore:
        store = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix, caps=SMALL_CAPS)
        stores.append(store)
        return store

    yield replica
    for store in stores:
        await store.aclose()


# -- the history store's roles (each suite tests one) ----------------------------------------


@pytest.fixture
def devices(history_store: HistoryStore) -> DeviceStore:
    return history_store.devices


@pytest.fixture
def entries(history_store: HistoryStore) -> EntryStore:
    return history_store.entries


@pytest.fixture
def blocks(history_store: HistoryStore) -> BlockStore:
    return history_store.blocks


@pytest.fixture
def tokens(history_store: HistoryStore) -> TokenStore:
    return history_store.tokens


@pytest.fixture
def settings_store(history_store: HistoryStore) -> SettingsStore:
    return history_store.settings


@pytest.fixture
def jobs(history_store: HistoryStore) -> JobStore:
    return history_store.jobs


@pytest.fixture
def telemetry_store(history_store: HistoryStore) -> TelemetryStore:
    return history_store.telemetry
