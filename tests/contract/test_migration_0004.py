"""Migration 0004 on SQLite and PostgreSQL: lines stored out of ``ccsync.bounds`` before
the server refused them move to ``quarantined_entries``, and survivors are decided again."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from ccsync.storage.history.migrations import upgrade
from ccsync.storage.history.urls import parse_history_url
from ccsync.usage.entry import UsageEntry

from .conftest import Target

HOUR = 3_600_000
YEAR_9999 = 253_402_300_799_999


async def _at_0003_with(
    target: Target, entries: list[dict[str, Any]], blocks: list[dict[str, Any]]
) -> None:
    """A database migrated up to 0003 only, holding these raw rows (as an old server stored them)."""
    parsed = parse_history_url(target.url, target.schema)
    if parsed.sqlite_path is not None:
        Path(parsed.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(parsed.url, connect_args=parsed.connect_args)
    try:
        async with engine.begin() as conn:
            assert await conn.run_sync(upgrade, target.schema, "0003") == "0003"
            await conn.execute(_table("entries", entries[0]).insert(), entries)
            await conn.execute(_table("blocks", blocks[0]).insert(), blocks)
    finally:
        await engine.dispose()


def _table(name: str, row: dict[str, Any]) -> sa.TableClause:
    types = {int: sa.BigInteger(), bool: sa.Boolean(), str: sa.Text(), float: sa.Double()}
    return sa.table(
        name, *(sa.column(key, types.get(type(v), sa.BigInteger())) for key, v in row.items())
    )


def line(
    n: int, ts: int, *, kept: bool, mid: str | None, tokens: int = 100, reset: int | None = None
) -> dict[str, Any]:
    return {
        "id": n,
        "account": "acc",
        "device_id": "d1",
        "timestamp_ms": ts,
        "input_tokens": tokens,
        "output_tokens": 1,
        "cache_creation_tokens": 0,
        "cache_creation_1h_tokens": 0,
        "cache_read_tokens": 0,
        "model": "claude-sonnet-4-20250514",
        "fast": False,
        "has_speed": False,
        "message_id": mid,
        "request_id": None if mid is None else "r",
        "session_field": "s1",
        "cost_usd": None,
        "sidechain": False,
        "usage_limit_reset_ms": reset,
        "project": "p",
        "session": "s1",
        "project_path": "p",
        "source": f"d1:/p/s{n}.jsonl",
        "line_offset": 0,
        "kept": kept,
    }


def block(block_id: str, start: int, end: int) -> dict[str, Any]:
    return {
        "account": "acc",
        "device_id": "d2",
        "block_id": block_id,
        "start_ms": start,
        "end_ms": end,
        "actual_end_ms": start,
        "is_active": True,
        "is_gap": False,
        "entries": 1,
        "input_tokens": 1,
        "output_tokens": 1,
        "cache_creation_tokens": 0,
        "cache_read_tokens": 0,
        "cost_usd": 0.0,
        "models": "[]",
        "received_ms": start,
    }


async def test_lines_out_of_bounds_are_quarantined_and_survivors_decided_again(
    target: Target,
) -> None:
    now = time.time_ns() // 1_000_000
    await _at_0003_with(
        target,
        [
            # the genuine line lost to a year-9999 copy of its message with more tokens
            line(1, now - HOUR, kept=False, mid="m1"),
            line(2, YEAR_9999, kept=True, mid="m1", tokens=10**6),
            line(3, 1_600_000_000_000, kept=True, mid="m2"),  # 2020
            line(4, now - 2 * HOUR, kept=True, mid=None, reset=YEAR_9999 - 999),
            line(5, now - 3 * HOUR, kept=True, mid=None),
            line(6, now + 23 * HOUR, kept=True, mid=None),  # within a day ahead: stays
        ],
        [block("good", now - HOUR, now + 4 * HOUR), block("far", now - HOUR, YEAR_9999)],
    )
    store = await target.open()
    try:
        assert store.capabilities.extra["schema_revision"] >= "0004"
        kept = await store.entries.kept_entries("acc")
        assert [(s.entry.source, s.entry.input_tokens) for s in kept] == [
            ("d1:/p/s5.jsonl", 100),
            ("d1:/p/s1.jsonl", 100),
            ("d1:/p/s6.jsonl", 100),
        ]
        assert (await store.entries.kept_changes("acc")).generation == 1  # running mirrors reload
        assert [b.block_id for b in await store.blocks.blocks("acc")] == ["good"]
        async with store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.text(
                        "SELECT id, timestamp_ms, kept, reason, quarantined_ms "
                        "FROM quarantined_entries ORDER BY id"
                    )
                )
            ).all()
        assert [(r[0], r[1], bool(r[2]), r[3]) for r in rows] == [
            (2, YEAR_9999, True, "timestamp more than a day ahead of the server's clock"),
            (3, 1_600_000_000_000, True, "timestamp before 2023"),
            (
                4,
                now - 2 * HOUR,
                True,
                "usageLimitReset more than 8 days ahead of the server's clock",
            ),
        ]
        assert all(now <= r[4] <= time.time_ns() // 1_000_000 for r in rows)
    finally:
        await store.aclose()
    again = await target.open()  # done once: opening again changes nothing
    try:
        assert len(await again.entries.kept_entries("acc")) == 3
        assert (await again.entries.kept_changes("acc")).generation == 1
    finally:
        await again.aclose()


async def test_a_database_with_nothing_out_of_bounds_keeps_its_generation(target: Target) -> None:
    now = time.time_ns() // 1_000_000
    await _at_0003_with(
        target,
        [line(1, now - HOUR, kept=True, mid="m1")],
        [block("good", now - HOUR, now + 4 * HOUR)],
    )
    store = await target.open()
    try:
        changes = await store.entries.kept_changes("acc")
        assert changes.generation == 0 and [s.entry for _, s in changes.kept] == [
            UsageEntry(**_entry_fields(line(1, now - HOUR, kept=True, mid="m1")))
        ]
        assert [b.block_id for b in await store.blocks.blocks("acc")] == ["good"]
    finally:
        await store.aclose()


def _entry_fields(row: dict[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in row.items() if k not in {"id", "account", "device_id", "kept"}}
    fields["offset"] = fields.pop("line_offset")
    return fields
