"""Where the history database of a contract test lives: a SQLite file, or a PostgreSQL schema."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from ccsync.storage.history import open_history_store
from ccsync.storage.history.sql import SqlHistoryStore
from ccsync.storage.history.urls import parse_history_url


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
