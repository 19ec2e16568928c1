"""Storing an account's lines with their ``kept`` flags, in SQL (``sql_entries``).

``kept`` says whether ccusage's duplicate rules keep a line; it is decided per message id
over all of the account's lines with that id (``dedupe_message``). Storing new lines
decides their message ids again in the same transaction, flipping ``kept`` only where the
decision changed; ``prune`` decides again the message ids that lost lines. Telemetry lines
(no message id) are decided by request id instead (``sql_requests``). The caller
holds the account's write turn (see ``sql_entries``), so every decision sees every line.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import BigInteger, Text, bindparam, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from ccsync.storage.history import schema as t
from ccsync.storage.history.database import SqlDatabase
from ccsync.storage.history.sql_batches import among, chunk_size, chunks
from ccsync.usage.dedup import dedupe_message
from ccsync.usage.entry import UsageEntry

_INSERT_KEYS = ("account", "device_id", *t.ENTRY_KEYS, "kept")
_LINE_IDENTITY = [t.entries.c.source, t.entries.c.line_offset]

Identity = tuple[str, int]
"""A line's identity: ``(source, offset)``."""


def _unnest_insert() -> Executable:
    """``INSERT INTO entries … SELECT :account, :device_id, * FROM unnest(<one array per
    column>) ON CONFLICT (source, line_offset) DO NOTHING RETURNING id, source, line_offset``."""
    keys = (*t.ENTRY_KEYS, "kept")
    arrays = [
        bindparam(f"{key}_values", type_=postgresql.ARRAY(t.entries.c[key].type)) for key in keys
    ]
    lines = func.unnest(*arrays).table_valued(*keys).render_derived()
    rows = select(bindparam("account", type_=Text), bindparam("device_id", type_=Text), *lines.c)
    return (
        postgresql.insert(t.entries)
        .from_select(["account", "device_id", *keys], rows)
        .on_conflict_do_nothing(index_elements=_LINE_IDENTITY)
        .returning(t.entries.c.id, t.entries.c.source, t.entries.c.line_offset)
    )


_UNNEST_INSERT = _unnest_insert()
_UNNEST_PARAMS = tuple(f"{key}_values" for key in (*t.ENTRY_KEYS, "kept"))

_SQLITE_INSERT_ROWS = 32_000 // len(_INSERT_KEYS)
"""Lines per multi-row ``INSERT`` on SQLite (its limit is 32,766 parameters a statement)."""


@functools.lru_cache(maxsize=8)
def _sqlite_insert(rows: int) -> str:
    """``INSERT INTO entries (…) VALUES (?, …), … ON CONFLICT DO NOTHING RETURNING …`` for
    ``rows`` lines, as the driver takes it: SQLAlchemy's per-row parameter handling costs
    more than the insert itself here (the values are plain ints, strings, bools, floats)."""
    one = "(" + ", ".join("?" * len(_INSERT_KEYS)) + ")"
    return (
        f"INSERT INTO entries ({', '.join(_INSERT_KEYS)}) VALUES {', '.join([one] * rows)} "
        "ON CONFLICT (source, line_offset) DO NOTHING RETURNING id, source, line_offset"
    )


@dataclass(slots=True)
class StoredLine:
    id: int
    kept: bool
    entry: UsageEntry


def identity(entry: UsageEntry) -> Identity:
    return (entry.source, entry.offset)


def _decide(groups: Iterable[Sequence[UsageEntry]]) -> dict[Identity, bool]:
    """Whether each line of each message id group survives ccusage's rules."""
    decided: dict[Identity, bool] = {}
    for group in groups:
        if len(group) == 1:
            decided[identity(group[0])] = True
            continue
        survivors = {identity(entry) for entry in dedupe_message(group)}
        for entry in group:
            key = identity(entry)
            decided[key] = key in survivors
    return decided


def _decide_with(
    stored: dict[Identity, StoredLine], candidates: Sequence[UsageEntry]
) -> dict[Identity, bool]:
    """Survival of every line in the message id groups the candidates join."""
    groups: dict[str, list[UsageEntry]] = {}
    for entry in candidates:
        if entry.message_id is not None:
            groups.setdefault(entry.message_id, []).append(entry)
    for line in stored.values():
        message_id = line.entry.message_id
        if message_id is not None and message_id in groups:
            groups[message_id].append(line.entry)
    return _decide(groups.values())


async def lines_of(
    db: SqlDatabase, conn: AsyncConnection, account: str, message_ids: Sequence[str]
) -> dict[Identity, StoredLine]:
    """The account's stored lines that carry one of ``message_ids``."""
    found: dict[Identity, StoredLine] = {}
    base = select(t.entries.c.id, t.entries.c.kept, *t.ENTRY_COLUMNS)
    for chunk in chunks(message_ids, chunk_size(db.backend)):
        stmt = base.where(
            t.entries.c.account == account,
            among(db.backend, t.entries.c.message_id, chunk, Text),
        )
        for row in await conn.execute(stmt):
            entry = UsageEntry(*row[2:])
            found[identity(entry)] = StoredLine(row[0], row[1], entry)
    return found


async def store_new(
    db: SqlDatabase,
    conn: AsyncConnection,
    account: str,
    device_id: str,
    stored: dict[Identity, StoredLine],
    candidates: list[UsageEntry],
) -> int:
    """Insert the lines not stored yet, and update ``kept`` of their message ids; how many
    were inserted.

    ``kept`` of the new lines is decided before the insert, so only older lines whose
    fate changed need an update. A candidate can still turn out to be stored (another
    account has that line): then the decision is made again without it.
    """
    if not candidates:
        return 0
    decided = _decide_with(stored, candidates)
    rows = [
        (*msgspec.structs.astuple(entry), decided.get(identity(entry), True))
        for entry in candidates
    ]
    inserted = await _insert_lines(db, conn, account, device_id, rows)
    current = {key: line.kept for key, line in stored.items()}
    ids = {key: line.id for key, line in stored.items()}
    if len(inserted) != len(candidates):
        candidates = [entry for entry in candidates if identity(entry) in inserted]
        for entry in candidates:
            key = identity(entry)
            current[key] = decided.get(key, True)
        decided = _decide_with(stored, candidates)
    ids.update(inserted)
    flips: dict[bool, list[int]] = {True: [], False: []}
    for key, kept in decided.items():
        if key in current and current[key] != kept:
            flips[kept].append(ids[key])
    await flip(db, conn, flips)
    return len(inserted)


async def _insert_lines(
    db: SqlDatabase,
    conn: AsyncConnection,
    account: str,
    device_id: str,
    rows: list[tuple[Any, ...]],
) -> dict[Identity, int]:
    """Insert lines (``UsageEntry`` fields, then ``kept``) unless stored; the new ids.

    PostgreSQL takes one ``INSERT … SELECT FROM unnest(arrays)`` (a single prepared
    statement whatever the batch size); SQLite a multi-row ``VALUES`` insert.
    """
    if db.backend == "postgresql":
        params: dict[str, Any] = {"account": account, "device_id": device_id}
        params.update(zip(_UNNEST_PARAMS, map(list, zip(*rows, strict=True)), strict=True))
        result = await conn.execute(_UNNEST_INSERT, params)
        return {(source, offset): row_id for row_id, source, offset in result}
    inserted: dict[Identity, int] = {}
    for chunk in chunks(rows, _SQLITE_INSERT_ROWS):
        values = [value for row in chunk for value in (account, device_id, *row)]
        result = await conn.exec_driver_sql(_sqlite_insert(len(chunk)), tuple(values))
        inserted.update(((source, offset), row_id) for row_id, source, offset in result)
    return inserted


async def redecide(
    db: SqlDatabase, conn: AsyncConnection, account: str, message_ids: list[str]
) -> int:
    """Decide the message ids again over their stored lines; how many lines flipped."""
    stored = await lines_of(db, conn, account, message_ids)
    groups: dict[str, list[UsageEntry]] = {}
    for line in stored.values():
        assert line.entry.message_id is not None
        groups.setdefault(line.entry.message_id, []).append(line.entry)
    decided = _decide(groups.values())
    flips: dict[bool, list[int]] = {True: [], False: []}
    for key, line in stored.items():
        if decided[key] != line.kept:
            flips[decided[key]].append(line.id)
    await flip(db, conn, flips)
    return len(flips[True]) + len(flips[False])


async def flip(db: SqlDatabase, conn: AsyncConnection, flips: dict[bool, list[int]]) -> None:
    """Set ``kept`` to each key of ``flips`` on the lines (by id) it lists."""
    for kept, flipped in flips.items():
        for chunk in chunks(flipped, chunk_size(db.backend)):
            await conn.execute(
                update(t.entries)
                .where(among(db.backend, t.entries.c.id, chunk, BigInteger))
                .values(kept=kept)
            )
