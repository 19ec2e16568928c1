"""Telemetry lines decided by request id, beside the message id decisions of ``sql_ingest``.

A line made from an OpenTelemetry event (``UsageEntry.from_telemetry``) has no message id:
it survives while no transcript line of its account carries its request id, and then only
the best telemetry copy of the request does (``dedup.dedupe_request``). Its ``kept`` flag
changes when a line with the same request id is stored or pruned, so ``sql_entries``'s
``ingest``, ``prune`` and ``kept_changes`` also look up lines by request id (index
``ix_entries_account_request``). Only request ids that have telemetry lines are decided
again; an account without telemetry lines costs one index lookup per ingest (no line of the
account without a message id is a telemetry line), plus the index's upkeep. The caller holds
the account's write turn, as for ``sql_ingest``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ccsync.storage.history import schema as t
from ccsync.storage.history.database import SqlDatabase
from ccsync.storage.history.sql_batches import among, chunk_size, chunks
from ccsync.storage.history.sql_ingest import flip
from ccsync.usage.dedup import dedupe_request
from ccsync.usage.entry import TELEMETRY_SOURCE_PREFIX, UsageEntry


def telemetry_condition() -> ColumnElement[bool]:
    """Lines that may be telemetry lines (``from_telemetry`` decides exactly)."""
    return t.entries.c.message_id.is_(None) & t.entries.c.source.startswith(TELEMETRY_SOURCE_PREFIX)


async def _has_telemetry(conn: AsyncConnection, account: str) -> bool:
    """Whether the account has a telemetry line at all (an index range of its lines
    without a message id: ``ix_entries_account_message``)."""
    stmt = select(t.entries.c.id).where(t.entries.c.account == account, telemetry_condition())
    return await conn.scalar(stmt.limit(1)) is not None


async def touched(
    db: SqlDatabase, conn: AsyncConnection, account: str, lines: Iterable[UsageEntry]
) -> list[str]:
    """The request ids whose telemetry lines ``lines`` (about to be stored) may decide
    again: those of telemetry lines among them, and those that already have one."""
    own = {e.request_id for e in lines if e.request_id is not None and e.from_telemetry}
    others = sorted(
        {e.request_id for e in lines if e.request_id is not None and not e.from_telemetry} - own
    )
    found = set(own)
    if others and not await _has_telemetry(conn, account):
        return sorted(found)  # nothing to look up (an account of transcripts only)
    for chunk in chunks(others, chunk_size(db.backend)):
        stmt = (
            select(t.entries.c.request_id)
            .where(t.entries.c.account == account, telemetry_condition())
            .where(among(db.backend, t.entries.c.request_id, chunk, Text))
            .distinct()
        )
        found.update(await conn.scalars(stmt))
    return sorted(found)


async def redecide_requests(
    db: SqlDatabase, conn: AsyncConnection, account: str, request_ids: Sequence[str]
) -> int:
    """Decide the telemetry lines of ``request_ids`` over every stored line carrying
    them; how many lines flipped."""
    flips: dict[bool, list[int]] = {True: [], False: []}
    for chunk in chunks(request_ids, chunk_size(db.backend)):
        stmt = select(t.entries.c.id, t.entries.c.kept, *t.ENTRY_COLUMNS).where(
            t.entries.c.account == account,
            among(db.backend, t.entries.c.request_id, chunk, Text),
        )
        groups: dict[str, list[tuple[int, bool, UsageEntry]]] = {}
        for row in await conn.execute(stmt):
            entry = UsageEntry(*row[2:])
            assert entry.request_id is not None
            groups.setdefault(entry.request_id, []).append((row[0], row[1], entry))
        for lines in groups.values():
            survivors = {id(e) for e in dedupe_request([entry for _, _, entry in lines])}
            for line_id, kept, entry in lines:
                decided = id(entry) in survivors
                if entry.from_telemetry and decided != kept:
                    flips[decided].append(line_id)
    await flip(db, conn, flips)
    return len(flips[True]) + len(flips[False])


async def older_lines(
    db: SqlDatabase,
    conn: AsyncConnection,
    account: str,
    after_id: int,
    request_ids: Sequence[str],
    columns: Sequence[ColumnElement[Any]],
) -> list[Any]:
    """Rows (``columns``) of the telemetry lines stored up to ``after_id`` that carry one
    of ``request_ids``: a line stored since may have changed their decision."""
    rows: list[Any] = []
    if not request_ids or not await _has_telemetry(conn, account):
        return rows
    for chunk in chunks(request_ids, chunk_size(db.backend)):
        stmt = select(*columns).where(
            t.entries.c.account == account,
            t.entries.c.id <= after_id,
            telemetry_condition(),
            among(db.backend, t.entries.c.request_id, chunk, Text),
        )
        rows.extend(await conn.execute(stmt))
    return rows


async def pruned(conn: AsyncConnection, before_ms: int) -> dict[str, set[str]]:
    """Per account, the request ids of telemetry lines that stay while lines of the
    same request id older than ``before_ms`` are deleted: their decision may change."""
    other = t.entries.alias("other")
    stmt = (
        select(t.entries.c.account, t.entries.c.request_id)
        .where(telemetry_condition(), t.entries.c.timestamp_ms >= before_ms)
        .where(
            select(other.c.id)
            .where(
                other.c.account == t.entries.c.account,
                other.c.request_id == t.entries.c.request_id,
                other.c.timestamp_ms < before_ms,
            )
            .exists()
        )
        .distinct()
    )
    found: dict[str, set[str]] = {}
    for account, request_id in await conn.execute(stmt):
        found.setdefault(account, set()).add(request_id)
    return found
