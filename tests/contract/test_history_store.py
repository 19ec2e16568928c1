"""The history store contract: every backend (SQLite, PostgreSQL) behaves the same.

One suite over ``history_store`` (a fresh store per test): SQLite in a file under
``tmp_path``, PostgreSQL in a schema of the test's own on the real server.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

import msgspec
import psycopg
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from ccsync.storage import StorageUnavailableError
from ccsync.storage.history import open_history_store
from ccsync.storage.history.base import (
    HistoryStore,
    IngestResult,
    StoredBlock,
    StoredEntry,
    TokenRecord,
)
from ccsync.storage.history.database import SqlDatabase
from ccsync.storage.history.migrations import SCRIPT_LOCATION
from ccsync.storage.history.sql import SqlHistoryStore
from ccsync.storage.history.urls import parse_history_url
from ccsync.usage.dedup import deduplicate
from ccsync.usage.entry import UsageEntry, time_order

from .conftest import Target

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
    "alembic_version",
}


def entry(
    n: int,
    *,
    device: str = "d1",
    file: str = "p/s1.jsonl",
    ts: int = 1_000,
    mid: str | None = "m",
    rid: str | None = "r",
    session: str | None = "s1",
    tokens: int = 100,
    sidechain: bool = False,
    speed: bool = False,
) -> UsageEntry:
    """Line ``n`` (its offset) of ``file`` below ``projects/`` on ``device``."""
    project = file.split("/")[0]
    return UsageEntry(
        timestamp_ms=ts,
        input_tokens=tokens,
        output_tokens=7,
        cache_creation_tokens=3_000_000_000,  # beyond 32 bits
        cache_creation_1h_tokens=1_000,
        cache_read_tokens=5,
        model="claude-sonnet-4-20250514",
        fast=False,
        has_speed=speed,
        message_id=mid,
        request_id=rid,
        session_field=session,
        cost_usd=None,
        sidechain=sidechain,
        usage_limit_reset_ms=None,
        project=project,
        session=file.split("/")[-1].removesuffix(".jsonl"),
        project_path=project,
        source=f"{device}/projects/{file}",
        offset=n,
    )


def kept_view(kept: Sequence[StoredEntry]) -> list[tuple[str, UsageEntry]]:
    return [(stored.device_id, stored.entry) for stored in kept]


def expected_view(pushed: dict[str, list[UsageEntry]]) -> list[tuple[str, UsageEntry]]:
    """What the store must keep: ccusage's survivors of everything pushed, with devices."""
    device_of = {(e.source, e.offset): device for device, lines in pushed.items() for e in lines}
    everything = [e for lines in pushed.values() for e in lines]
    return [(device_of[(e.source, e.offset)], e) for e in deduplicate(everything)]


def relocated(pushed: dict[str, list[UsageEntry]], prefix: str) -> dict[str, list[UsageEntry]]:
    """The same lines in files of another name (so other lines, with the same contents)."""
    return {
        device: [msgspec.structs.replace(e, source=f"{prefix}/{e.source}") for e in lines]
        for device, lines in pushed.items()
    }


# -- lifecycle -------------------------------------------------------------------------------


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

    await history_store.register_device("d1", "acc", 1)
    again = await target.open()  # migrating an up-to-date database changes nothing
    try:
        assert again.capabilities.extra["schema_revision"] == head
        assert await again.schema_differences() == []
        assert await again.get_device("d1") is not None
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
    assert (await store.ingest("acc", "d1", first, 10)).accepted == 2
    await store.register_device("d1", "acc", 11, name="laptop", hostname="h", version="1.0")
    await store.add_token(TokenRecord("t1", "device", "hash1", "l", "d1", 12))
    await store.put_settings({"timezone": "Europe/Paris"})
    await store.replace_blocks("acc", "d1", [block("b1", 0)])
    await store.aclose()

    store = await target.open()
    try:
        assert kept_view(await store.kept_entries("acc")) == [("d1", e) for e in first]
        device = await store.get_device("d1")
        assert device is not None and (device.name, device.hostname, device.version) == (
            "laptop",
            "h",
            "1.0",
        )
        assert device.last_push_ms == 10
        assert await store.token_by_hash("hash1") == TokenRecord(
            "t1", "device", "hash1", "l", "d1", 12
        )
        assert await store.get_settings() == {"timezone": "Europe/Paris"}
        assert await store.blocks("acc") == [block("b1", 0)]
        # Dedup after the reopen still sees the lines stored before it.
        better = entry(5, device="d2", tokens=500)
        assert (await store.ingest("acc", "d2", [better], 20)).accepted == 1
        assert kept_view(await store.kept_entries("acc")) == [("d1", first[1]), ("d2", better)]
        assert await store.entry_count() == 3
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


# -- devices and accounts --------------------------------------------------------------------


async def test_register_device_creates_then_updates(history_store: HistoryStore) -> None:
    assert await history_store.get_device("d1") is None
    created = await history_store.register_device("d1", "acc", 100)
    assert (created.id, created.account, created.name) == ("d1", "acc", "d1")
    assert (created.hostname, created.version) == (None, None)
    assert (created.created_ms, created.last_seen_ms, created.last_push_ms) == (100, 100, None)
    assert await history_store.get_device("d1") == created

    named = await history_store.register_device("d1", "acc", 200, name="laptop", hostname="h1")
    assert (named.name, named.hostname, named.version) == ("laptop", "h1", None)
    assert (named.created_ms, named.last_seen_ms) == (100, 200)

    # The account always changes; fields not given keep their value.
    moved = await history_store.register_device("d1", "other", 300, version="2.0")
    assert (moved.account, moved.name, moved.hostname, moved.version) == (
        "other",
        "laptop",
        "h1",
        "2.0",
    )
    assert (moved.created_ms, moved.last_seen_ms) == (100, 300)
    assert await history_store.get_device("d1") == moved


async def test_devices_by_account_and_accounts(history_store: HistoryStore) -> None:
    assert await history_store.list_devices() == []
    assert await history_store.accounts() == []
    for device_id, account in [("d3", "b"), ("d1", "a"), ("d2", "b"), ("D0", "a")]:
        await history_store.register_device(device_id, account, 1)
    assert [d.id for d in await history_store.list_devices()] == ["D0", "d1", "d2", "d3"]
    assert [d.id for d in await history_store.list_devices("b")] == ["d2", "d3"]
    assert await history_store.list_devices("nobody") == []
    assert await history_store.accounts() == ["a", "b"]


# -- ingest ----------------------------------------------------------------------------------


async def test_ingest_counts_accepted_and_duplicate_lines(history_store: HistoryStore) -> None:
    batch = [entry(0), entry(1, mid="n"), entry(2, mid=None)]
    assert await history_store.ingest("acc", "d1", [*batch, batch[1]], 50) == _result(3, 1)
    assert await history_store.ingest("acc", "d1", batch, 60) == _result(0, 3)
    assert await history_store.ingest("acc", "d1", [], 70) == _result(0, 0)
    assert await history_store.entry_count() == 3
    # A stored line sent with other contents is still the same line: nothing changes.
    changed = entry(2, mid=None, tokens=999)
    assert await history_store.ingest("acc", "d1", [changed], 80) == _result(0, 1)
    assert [e.input_tokens for e in await history_store.device_entries("acc", "d1")] == [
        100,
        100,
        100,
    ]


async def test_a_line_stored_for_another_account_is_a_duplicate(
    history_store: HistoryStore,
) -> None:
    """Lines are unique across accounts; the line that was refused takes no part in the
    decision of the account that sent it again."""
    rich = entry(0, tokens=999)
    await history_store.ingest("other", "d1", [rich], 1)
    modest = entry(1, tokens=100)
    assert await history_store.ingest("acc", "d1", [rich, modest], 2) == _result(1, 1)
    assert kept_view(await history_store.kept_entries("acc")) == [("d1", modest)]
    assert kept_view(await history_store.kept_entries("other")) == [("d1", rich)]
    assert await history_store.entry_count("acc") == 1


async def test_ingest_registers_and_touches_the_device(history_store: HistoryStore) -> None:
    await history_store.ingest("acc", "new", [entry(0, device="new")], 50)
    device = await history_store.get_device("new")
    assert device is not None
    assert (device.account, device.name, device.created_ms) == ("acc", "new", 50)
    assert (device.last_seen_ms, device.last_push_ms) == (50, 50)

    await history_store.register_device("d1", "acc", 10, name="laptop")
    await history_store.ingest("acc", "d1", [], 90)
    device = await history_store.get_device("d1")
    assert device is not None
    assert (device.name, device.created_ms, device.last_seen_ms, device.last_push_ms) == (
        "laptop",
        10,
        90,
        90,
    )


async def test_a_failed_ingest_stores_nothing(history_store: HistoryStore) -> None:
    await history_store.ingest("acc", "d1", [entry(0)], 10)
    too_big = entry(9, mid="x", tokens=2**64)  # no 64-bit column takes it
    with pytest.raises((OverflowError, DBAPIError)):
        await history_store.ingest(
            "acc", "d1", [entry(1, mid="y"), entry(0, tokens=500), too_big], 20
        )
    assert await history_store.entry_count() == 1
    device = await history_store.get_device("d1")
    assert device is not None and device.last_push_ms == 10
    assert kept_view(await history_store.kept_entries("acc")) == [("d1", entry(0))]


# Scenarios: what each device pushes (one batch per device).
SCENARIOS: dict[str, dict[str, list[UsageEntry]]] = {
    "a later push holds a better duplicate": {
        "d1": [entry(0, device="d1", tokens=100)],
        "d2": [entry(0, device="d2", tokens=300)],
        "d3": [entry(4, device="d3", tokens=200)],
    },
    "equal duplicates: the first in canonical order": {
        "d2": [entry(0, device="d2")],
        "d1": [entry(3, device="d1")],
    },
    "sidechain replays": {
        "d1": [entry(0, device="d1", rid="r1"), entry(1, device="d1", rid=None, ts=5_000, mid="k")],
        "d2": [
            entry(0, device="d2", rid="r2", sidechain=True, tokens=900),
            entry(1, device="d2", rid="r3", sidechain=True, ts=1_500),
            entry(2, device="d2", rid=None, mid="k", ts=5_000, sidechain=True, tokens=50),
        ],
    },
    "lines without a message id all survive": {
        "d1": [entry(0, device="d1", mid=None), entry(1, device="d1", mid=None)],
        "d2": [entry(0, device="d2", mid=None)],
    },
    "lines without a request id": {
        "d1": [
            entry(0, device="d1", rid=None, session="a"),
            entry(1, device="d1", rid=None, session="b", tokens=50),
        ],
        "d2": [
            entry(0, device="d2", rid=None, session="a", tokens=400),
            entry(1, device="d2", rid=None, session=None, file="p/c.jsonl"),
        ],
    },
    "with and without a request id, speed ties": {
        "d1": [entry(0, device="d1"), entry(1, device="d1", rid=None)],
        "d2": [entry(0, device="d2", speed=True), entry(1, device="d2", rid="r2")],
    },
}


@pytest.mark.parametrize("pushed", SCENARIOS.values(), ids=SCENARIOS.keys())
async def test_survivors_do_not_depend_on_push_order(
    history_store: HistoryStore, pushed: dict[str, list[UsageEntry]]
) -> None:
    orders = list(itertools.permutations(pushed))
    assert len(orders) > 1
    for number, order in enumerate(orders):
        # Each order on an account of its own (lines are unique across accounts, so their
        # files get a prefix): a fresh decision every time.
        account = f"acc{number}"
        lines = relocated(pushed, account)
        for device in order:
            await history_store.ingest(account, device, lines[device], 1)
        assert kept_view(await history_store.kept_entries(account)) == expected_view(lines), order
    # One line per batch gives the same survivors as whole batches.
    lines = relocated(pushed, "singly")
    for device, batch in lines.items():
        for line in batch:
            await history_store.ingest("singly", device, [line], 1)
    assert kept_view(await history_store.kept_entries("singly")) == expected_view(lines)


async def test_a_better_duplicate_replaces_the_survivor(history_store: HistoryStore) -> None:
    early = entry(0, device="d1", tokens=100)
    await history_store.ingest("acc", "d1", [early], 1)
    assert kept_view(await history_store.kept_entries("acc")) == [("d1", early)]
    better = entry(7, device="d2", tokens=300)
    await history_store.ingest("acc", "d2", [better], 2)
    assert kept_view(await history_store.kept_entries("acc")) == [("d2", better)]
    # The replaced line is still stored, only no longer kept.
    assert await history_store.device_entries("acc", "d1") == [early]
    # Other accounts never take part in an account's decision.
    await history_store.ingest("other", "d9", [entry(0, device="d9", tokens=999)], 3)
    assert kept_view(await history_store.kept_entries("acc")) == [("d2", better)]


@pytest.mark.parametrize("seed", [1, 2])
async def test_random_pushes_keep_what_deduplicate_keeps(
    history_store: HistoryStore, seed: int
) -> None:
    rng = random.Random(seed)
    pushed: dict[str, list[UsageEntry]] = {device: [] for device in ("d1", "d2", "d3")}
    for device, lines in pushed.items():
        for n in range(120):
            mid = rng.choice([None, *(f"m{k}" for k in range(25))])
            lines.append(
                entry(
                    n,
                    device=device,
                    file=rng.choice(["p/a.jsonl", "p/b.jsonl", "q/a.jsonl"]),
                    ts=rng.choice([1_000, 2_000, 3_000]),
                    mid=mid,
                    rid=rng.choice(["r1", "r2", None]),
                    session=rng.choice(["a", "b", None]),
                    tokens=rng.choice([100, 200]),
                    sidechain=rng.random() < 0.3,
                    speed=rng.random() < 0.2,
                )
            )
    # Push in random batches that overlap (lines sent again), devices interleaved.
    batches = []
    for device, lines in pushed.items():
        start = 0
        while start < len(lines):
            end = start + rng.randint(5, 40)
            batches.append((device, lines[max(0, start - rng.randint(0, 5)) : end]))
            start = end
    rng.shuffle(batches)
    accepted = 0
    for device, batch in batches:
        result = await history_store.ingest("acc", device, batch, 1)
        assert result.accepted + result.duplicate == len(batch)
        accepted += result.accepted
    assert accepted == 360 == await history_store.entry_count("acc")
    assert kept_view(await history_store.kept_entries("acc")) == expected_view(pushed)


@pytest.mark.parametrize("concurrent", [False, True], ids=["sequential", "concurrent"])
async def test_two_servers_ingesting_at_once_agree(target: Target, concurrent: bool) -> None:
    """Two stores on one database (two server processes) push overlapping message ids."""
    rng = random.Random(5)
    # Line n of both devices carries message n: each message is decided once per device,
    # at about the same time on both servers; a decision that missed the other server's
    # lines would keep two survivors.
    pushed = {
        device: [
            entry(n, device=device, mid=f"m{n}", tokens=rng.choice([100, 200, 300]))
            for n in range(600)
        ]
        for device in ("d1", "d2")
    }
    first, second = await target.open(), await target.open()

    async def push(store: HistoryStore, device: str) -> int:
        accepted = 0
        lines = pushed[device]
        for start in range(0, len(lines), 20):
            accepted += (await store.ingest("acc", device, lines[start : start + 20], 1)).accepted
        return accepted

    try:
        if concurrent:
            counts = await asyncio.gather(push(first, "d1"), push(second, "d2"))
        else:
            counts = [await push(first, "d1"), await push(second, "d2")]
        assert counts == [600, 600]
        assert kept_view(await first.kept_entries("acc")) == expected_view(pushed)
        assert await second.entry_count() == 1200
    finally:
        await first.aclose()
        await second.aclose()


# -- reading entries -------------------------------------------------------------------------


async def test_kept_entries_in_time_order_within_bounds(history_store: HistoryStore) -> None:
    lines = [
        entry(5, mid="a", ts=3_000),
        entry(1, mid="b", ts=2_000, file="q/z.jsonl"),
        entry(9, mid="c", ts=2_000),
        entry(0, mid=None, ts=1_000),
        entry(2, mid=None, ts=4_000),
    ]
    await history_store.ingest("acc", "d1", lines, 1)
    await history_store.ingest("other", "d2", [entry(0, device="d2", ts=2_500)], 1)
    ordered = sorted(lines, key=time_order)
    assert [s.entry for s in await history_store.kept_entries("acc")] == ordered
    assert [
        s.entry.timestamp_ms for s in await history_store.kept_entries("acc", 2_000, 4_000)
    ] == [
        2_000,
        2_000,
        3_000,
    ]
    assert [s.entry.offset for s in await history_store.kept_entries("acc", since_ms=3_000)] == [
        5,
        2,
    ]
    assert [s.entry.offset for s in await history_store.kept_entries("acc", until_ms=2_000)] == [0]
    assert await history_store.kept_entries("acc", 4_001) == []
    assert await history_store.kept_entries("nobody") == []
    assert kept_view(await history_store.kept_entries("other")) == [
        ("d2", entry(0, device="d2", ts=2_500))
    ]


async def test_device_entries_include_duplicates(history_store: HistoryStore) -> None:
    copies = [entry(0, ts=2_000), entry(1, ts=2_000, tokens=300), entry(2, mid=None, ts=1_000)]
    await history_store.ingest("acc", "d1", copies, 1)
    await history_store.ingest("acc", "d2", [entry(0, device="d2", ts=1_500)], 1)
    assert await history_store.device_entries("acc", "d1") == sorted(copies, key=time_order)
    assert await history_store.device_entries("acc", "d1", 2_000) == copies[:2]
    assert await history_store.device_entries("acc", "d1", until_ms=2_000) == [copies[2]]
    assert await history_store.device_entries("other", "d1") == []
    assert len(await history_store.kept_entries("acc")) == 2  # d1's two copies are one


async def test_entry_count(history_store: HistoryStore) -> None:
    assert await history_store.entry_count() == 0
    await history_store.ingest("a", "d1", [entry(0), entry(1)], 1)
    await history_store.ingest("b", "d2", [entry(0, device="d2")], 1)
    assert await history_store.entry_count() == 3
    assert await history_store.entry_count("a") == 2
    assert await history_store.entry_count("b") == 1
    assert await history_store.entry_count("c") == 0


async def test_entries_round_trip_every_field(history_store: HistoryStore) -> None:
    line = UsageEntry(
        timestamp_ms=1_767_225_600_123,
        input_tokens=2**40,
        output_tokens=2**33,
        cache_creation_tokens=12,
        cache_creation_1h_tokens=4,
        cache_read_tokens=2**35,
        model="<synthetic>",
        fast=True,
        has_speed=True,
        message_id="msg_é",
        request_id="req",
        session_field="sf",
        cost_usd=0.125,
        sidechain=True,
        usage_limit_reset_ms=1_767_230_000_000,
        project="proj",
        session="sess",
        project_path="proj/path",
        source="d1/projects/proj/sess.jsonl",
        offset=2**40,
    )
    bare = entry(3, mid=None, rid=None, session=None)
    await history_store.ingest("acc", "d1", [line, bare], 1)
    assert await history_store.device_entries("acc", "d1") == [bare, line]
    assert [s.entry for s in await history_store.kept_entries("acc")] == [bare, line]


# -- blocks ----------------------------------------------------------------------------------


def block(
    block_id: str, start_ms: int, *, device: str = "d1", tokens: int = 10, account: str = "acc"
) -> StoredBlock:
    return StoredBlock(
        account=account,
        device_id=device,
        block_id=block_id,
        start_ms=start_ms,
        end_ms=start_ms + 18_000_000,
        actual_end_ms=None if tokens == 0 else start_ms + 60_000,
        is_active=tokens > 10,
        is_gap=tokens == 0,
        entries=3,
        input_tokens=tokens,
        output_tokens=2,
        cache_creation_tokens=3_000_000_000,
        cache_read_tokens=4,
        cost_usd=1.5,
        models=("claude-opus-4", "claude-sonnet-4") if tokens else (),
        received_ms=77,
    )


async def test_replace_blocks_replaces_by_id_and_keeps_others(history_store: HistoryStore) -> None:
    assert await history_store.blocks("acc") == []
    await history_store.replace_blocks("acc", "d1", [block("b2", 2_000), block("b1", 1_000)])
    await history_store.replace_blocks("acc", "d2", [block("b1", 1_500, device="d2")])
    await history_store.replace_blocks("other", "d3", [block("x", 0, device="d3", account="other")])
    assert [b.block_id for b in await history_store.blocks("acc", "d1")] == ["b1", "b2"]

    updated = block("b2", 2_000, tokens=500)
    await history_store.replace_blocks("acc", "d1", [updated, block("b3", 3_000, tokens=0)])
    assert await history_store.blocks("acc", "d1") == [
        block("b1", 1_000),
        updated,
        block("b3", 3_000, tokens=0),
    ]
    assert [(b.device_id, b.start_ms) for b in await history_store.blocks("acc")] == [
        ("d1", 1_000),
        ("d2", 1_500),
        ("d1", 2_000),
        ("d1", 3_000),
    ]
    await history_store.replace_blocks("acc", "d1", [])
    assert len(await history_store.blocks("acc", "d1")) == 3
    assert await history_store.blocks("other") == [block("x", 0, device="d3", account="other")]
    assert (await history_store.blocks("acc", "d1"))[1].total_tokens == 500 + 2 + 3_000_000_000 + 4


async def test_block_counts_per_device_in_one_answer(history_store: HistoryStore) -> None:
    assert await history_store.block_counts("acc") == {}
    await history_store.replace_blocks("acc", "d1", [block("b2", 2_000), block("b1", 1_000)])
    await history_store.replace_blocks("acc", "d2", [block("b1", 1_500, device="d2")])
    await history_store.replace_blocks("other", "d3", [block("x", 0, device="d3", account="other")])
    assert await history_store.block_counts("acc") == {"d1": 2, "d2": 1}
    assert await history_store.block_counts("other") == {"d3": 1}
    assert await history_store.block_counts("nobody") == {}


# -- tokens ----------------------------------------------------------------------------------


async def test_tokens(history_store: HistoryStore) -> None:
    admin = TokenRecord("t2", "admin", "h-admin", "ops", None, created_ms=200)
    device = TokenRecord("t1", "device", "h-device", "", "d1", created_ms=100)
    await history_store.add_token(admin)
    await history_store.add_token(device)
    assert await history_store.token_by_hash("h-admin") == admin
    assert await history_store.token_by_hash("nope") is None
    assert await history_store.list_tokens() == [device, admin]

    await history_store.touch_token("t1", 300)
    touched = await history_store.token_by_hash("h-device")
    assert touched is not None and touched.last_used_ms == 300 and touched.active

    assert await history_store.revoke_token("t1", 400) is True
    assert await history_store.revoke_token("t1", 500) is False
    assert await history_store.revoke_token("missing", 500) is False
    revoked = await history_store.token_by_hash("h-device")
    assert revoked is not None and revoked.revoked_ms == 400 and not revoked.active
    assert [t.active for t in await history_store.list_tokens()] == [False, True]


# -- settings --------------------------------------------------------------------------------


async def test_settings_merge(history_store: HistoryStore) -> None:
    assert await history_store.get_settings() == {}
    values = {
        "timezone": "Asia/Tokyo",
        "limits": {"tokens": 2**40, "ratio": 0.5, "on": [True, None]},
    }
    assert await history_store.put_settings(values) == values
    assert await history_store.put_settings({"timezone": "UTC", "plan": None}) == {
        "timezone": "UTC",
        "limits": values["limits"],
        "plan": None,
    }
    assert await history_store.put_settings({}) == await history_store.get_settings()
    assert (await history_store.get_settings())["limits"] == values["limits"]


# -- helpers ---------------------------------------------------------------------------------


def _result(accepted: int, duplicate: int) -> IngestResult:
    return IngestResult(accepted=accepted, duplicate=duplicate)


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    return config
