"""The entry store on SQLite or PostgreSQL, in the history store's database.

Survivors: every stored line has a ``kept`` flag, kept up to date by ``sql_ingest`` (by
message id) and ``sql_requests`` (telemetry lines, by request id).
Writers of one account are serialised so each decision sees every earlier line: on
SQLite by one lock per process plus ``BEGIN IMMEDIATE`` (one writer per file), on
PostgreSQL by a transaction-scoped advisory lock per account (any number of processes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Text, delete, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from ccsync.storage.history import schema as t
from ccsync.storage.history import sql_marks, sql_requests
from ccsync.storage.history.database import SqlDatabase, advisory_lock_key
from ccsync.storage.history.entries import (
    EntryStore,
    IngestResult,
    KeptChanges,
    PruneResult,
    StoredEntry,
    StreamMark,
)
from ccsync.storage.history.sql_batches import among, chunk_size, chunks
from ccsync.storage.history.sql_ingest import Identity, identity, lines_of, redecide, store_new
from ccsync.usage.entry import UsageEntry, time_order

_GENERATION_SETTING = "history.generation"
"""The settings row ``prune`` moves on (``KeptChanges.generation``)."""


def _line(row: Sequence[Any]) -> tuple[int, bool, StoredEntry]:
    """``(id, kept, stored entry)`` of an ``id, kept, device_id, <entry columns>`` row."""
    return row[0], row[1], StoredEntry(row[2], UsageEntry(*row[3:]))


def _time_range(since_ms: int | None, until_ms: int | None) -> list[ColumnElement[bool]]:
    """``since_ms <= timestamp < until_ms``, each bound when given."""
    conditions: list[ColumnElement[bool]] = []
    if since_ms is not None:
        conditions.append(t.entries.c.timestamp_ms >= since_ms)
    if until_ms is not None:
        conditions.append(t.entries.c.timestamp_ms < until_ms)
    return conditions


class SqlEntryStore(EntryStore):
    """``EntryStore`` on SQLite (aiosqlite) or PostgreSQL (asyncpg); see the module doc."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db
        self._chunk = chunk_size(db.backend)
        self._history_id: str | None = None

    # -- the history's identity ----------------------------------------------------------
    async def history_id(self) -> str:
        if self._history_id is None:  # made with the database: read once
            self._history_id = await sql_marks.history_id(self._db)
        return self._history_id

    async def device_mark(self, device_id: str, stream: str) -> int:
        async with self._db.read() as conn:
            return await sql_marks.device_mark(conn, device_id, stream)

    # -- storing lines -------------------------------------------------------------------
    async def _take_turn(self, conn: AsyncConnection, account: str) -> None:
        """On PostgreSQL, wait for the account's other writers (any process) to commit."""
        if self._db.backend == "postgresql":
            key = advisory_lock_key("ingest", self._db.schema or "", account)
            await conn.execute(select(func.pg_advisory_xact_lock(key)))

    async def ingest(
        self,
        account: str,
        device_id: str,
        entries: Sequence[UsageEntry],
        now_ms: int,
        mark: StreamMark | None = None,
    ) -> IngestResult:
        batch: dict[Identity, UsageEntry] = {}
        for entry in entries:
            batch.setdefault(identity(entry), entry)
        message_ids = sorted({e.message_id for e in batch.values() if e.message_id is not None})
        device = (
            self._db.insert(t.devices)
            .values(
                id=device_id,
                account=account,
                name=device_id,
                created_ms=now_ms,
                last_seen_ms=now_ms,
                last_push_ms=now_ms,
            )
            .on_conflict_do_update(
                index_elements=[t.devices.c.id],
                set_={"last_seen_ms": now_ms, "last_push_ms": now_ms},
            )
        )
        async with self._db.write() as conn:
            # Servers ingesting for this account concurrently take turns, so each one
            # decides over every line the others stored.
            await self._take_turn(conn, account)
            await conn.execute(device)
            stored = await lines_of(self._db, conn, account, message_ids)
            candidates = [entry for key, entry in batch.items() if key not in stored]
            requests = await sql_requests.touched(self._db, conn, account, candidates)
            accepted = await store_new(self._db, conn, account, device_id, stored, candidates)
            if requests and accepted:
                await sql_requests.redecide_requests(self._db, conn, account, requests)
            marked = None
            if mark is not None:  # with the lines: a backup holds both or neither
                marked = await conn.scalar(sql_marks.record(self._db, device_id, mark, now_ms))
        return IngestResult(accepted=accepted, duplicate=len(entries) - accepted, mark=marked)

    async def prune(self, before_ms: int) -> PruneResult:
        old = t.entries.c.timestamp_ms < before_ms
        async with self._db.write() as conn:
            touched: dict[str, set[str]] = {}
            stmt = (
                select(t.entries.c.account, t.entries.c.message_id)
                .where(old, t.entries.c.message_id.is_not(None))
                .distinct()
            )
            for account, message_id in await conn.execute(stmt):
                touched.setdefault(account, set()).add(message_id)
            requests = await sql_requests.pruned(conn, before_ms)
            for account in sorted(touched.keys() | requests.keys()):  # ingest's turns, in order
                await self._take_turn(conn, account)
            entries = (await conn.execute(delete(t.entries).where(old))).rowcount
            redecided = 0
            for account, message_ids in sorted(touched.items()):
                redecided += await redecide(self._db, conn, account, sorted(message_ids))
            for account, request_ids in sorted(requests.items()):
                redecided += await sql_requests.redecide_requests(
                    self._db, conn, account, sorted(request_ids)
                )
            blocks = (
                await conn.execute(delete(t.blocks).where(t.blocks.c.end_ms < before_ms))
            ).rowcount
            runs = (
                await conn.execute(
                    delete(t.cron_runs).where(
                        t.cron_runs.c.started_ms < before_ms, t.cron_runs.c.ended_ms.is_not(None)
                    )
                )
            ).rowcount
            if entries or redecided:
                generation = await _generation(conn) + 1
                upsert = self._db.insert(t.settings).values(
                    key=_GENERATION_SETTING, value=json.dumps(generation)
                )
                await conn.execute(
                    upsert.on_conflict_do_update(
                        index_elements=[t.settings.c.key], set_={"value": upsert.excluded.value}
                    )
                )
        return PruneResult(entries=entries, blocks=blocks, runs=runs, redecided=redecided)

    # -- reading lines -------------------------------------------------------------------
    async def kept_entries(
        self, account: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[StoredEntry]:
        stmt = (
            select(t.entries.c.device_id, *t.ENTRY_COLUMNS)
            .where(t.entries.c.account == account, t.entries.c.kept == true())
            .where(*_time_range(since_ms, until_ms))
            .order_by(t.entries.c.timestamp_ms)
        )
        async with self._db.read() as conn:
            result = await conn.execute(stmt)
            found = [StoredEntry(row[0], UsageEntry(*row[1:])) for row in result]
        found.sort(key=lambda stored: time_order(stored.entry))
        return found

    async def kept_changes(self, account: str, after_id: int = 0) -> KeptChanges:
        columns = (t.entries.c.id, t.entries.c.kept, t.entries.c.device_id, *t.ENTRY_COLUMNS)
        lines: list[tuple[int, bool, StoredEntry]] = []
        async with self._db.read() as conn:
            # First: a prune after this read shows as a new generation next time.
            generation = await _generation(conn)
            stmt = (
                select(*columns)
                .where(t.entries.c.account == account, t.entries.c.id > after_id)
                # From the start, only survivors matter (nothing older to decide again).
                .where(*([t.entries.c.kept == true()] if after_id == 0 else []))
                # In time order: the mirror then holds them in memory in the order
                # reports walk them (the first load is ~2x faster to report on so).
                .order_by(t.entries.c.timestamp_ms)
            )
            lines.extend(_line(row) for row in await conn.execute(stmt))
            last_id = max((line[0] for line in lines), default=after_id)
            message_ids = sorted({s.entry.message_id for _, _, s in lines if s.entry.message_id})
            request_ids = sorted({s.entry.request_id for _, _, s in lines if s.entry.request_id})
            for chunk in chunks(message_ids, self._chunk):
                stmt = select(*columns).where(
                    t.entries.c.account == account,
                    t.entries.c.id <= after_id,
                    among(self._db.backend, t.entries.c.message_id, chunk, Text),
                )
                lines.extend(_line(row) for row in await conn.execute(stmt))
            if after_id:  # telemetry lines a new line of their request may have decided
                older = await sql_requests.older_lines(
                    self._db, conn, account, after_id, request_ids, columns
                )
                lines.extend(_line(row) for row in older)
        return KeptChanges(
            last_id=last_id,
            kept=[(line_id, stored) for line_id, kept, stored in lines if kept],
            dropped=[line_id for line_id, kept, _ in lines if not kept],
            generation=generation,
        )

    async def device_entries(
        self, account: str, device_id: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[UsageEntry]:
        stmt = (
            select(*t.ENTRY_COLUMNS)
            .where(t.entries.c.account == account, t.entries.c.device_id == device_id)
            .where(*_time_range(since_ms, until_ms))
            .order_by(t.entries.c.timestamp_ms)
        )
        async with self._db.read() as conn:
            result = await conn.execute(stmt)
            found = [UsageEntry(*row) for row in result]
        found.sort(key=time_order)
        return found

    async def entry_count(self, account: str | None = None) -> int:
        stmt = select(func.count()).select_from(t.entries)
        if account is not None:
            stmt = stmt.where(t.entries.c.account == account)
        async with self._db.read() as conn:
            count = await conn.scalar(stmt)
        return int(count or 0)


async def _generation(conn: AsyncConnection) -> int:
    value = await conn.scalar(
        select(t.settings.c.value).where(t.settings.c.key == _GENERATION_SETTING)
    )
    return int(json.loads(value)) if value is not None else 0
