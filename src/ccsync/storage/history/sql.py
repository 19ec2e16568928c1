"""The history store on SQLite or PostgreSQL: one SQLAlchemy Core implementation.

It works in a ``database.SqlDatabase`` (connection, migrations, write transactions),
which it shares with the job store (``sql_jobs.SqlJobStore``).

Survivors: every stored line has a ``kept`` flag. ``ingest`` inserts the new lines and,
in the same transaction, decides again each message id they carry over all of the
account's lines with that id (``dedupe_message``), flipping ``kept`` where the decision
changed. Writers of one account are serialised so the decision sees every earlier line:
on SQLite by one lock per process plus ``BEGIN IMMEDIATE`` (one writer per file), on
PostgreSQL by a transaction-scoped advisory lock per account (any number of processes).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Text,
    any_,
    bindparam,
    delete,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import Executable
from sqlalchemy.types import TypeEngine

from ccsync.storage.history import schema as t
from ccsync.storage.history import sql_marks
from ccsync.storage.history.base import (
    Capabilities,
    Device,
    HistoryStore,
    IngestResult,
    KeptChanges,
    PruneResult,
    StoredBlock,
    StoredEntry,
    StreamMark,
    TokenRecord,
)
from ccsync.storage.history.database import SqlDatabase, advisory_lock_key
from ccsync.storage.history.sql_jobs import SqlJobStore
from ccsync.storage.history.sql_limits import SqlLimitStore
from ccsync.usage.dedup import dedupe_message
from ccsync.usage.entry import UsageEntry, time_order

_T = TypeVar("_T")

_SQLITE_IN_CHUNK = 2000
"""Values per ``IN (…)`` list on SQLite: far below its 32766 parameters."""
_ARRAY_CHUNK = 50_000
"""Values per array parameter on PostgreSQL."""

_ENTRY_KEYS: tuple[str, ...] = tuple(
    "line_offset" if f.name == "offset" else f.name for f in msgspec.structs.fields(UsageEntry)
)
"""The ``entries`` columns of the ``UsageEntry`` fields, in field order (positional build)."""
_ENTRY_COLUMNS = tuple(t.entries.c[key] for key in _ENTRY_KEYS)
_INSERT_KEYS = ("account", "device_id", *_ENTRY_KEYS, "kept")
_LINE_IDENTITY = [t.entries.c.source, t.entries.c.line_offset]


def _unnest_insert() -> Executable:
    """``INSERT INTO entries … SELECT :account, :device_id, * FROM unnest(<one array per
    column>) ON CONFLICT (source, line_offset) DO NOTHING RETURNING id, source, line_offset``."""
    keys = (*_ENTRY_KEYS, "kept")
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
_UNNEST_PARAMS = tuple(f"{key}_values" for key in (*_ENTRY_KEYS, "kept"))

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


_GENERATION_SETTING = "history.generation"
"""The settings row ``prune`` moves on (``KeptChanges.generation``)."""

_Identity = tuple[str, int]
"""A line's identity: ``(source, offset)``."""


@dataclass(slots=True)
class _StoredLine:
    id: int
    kept: bool
    entry: UsageEntry


def _chunks(values: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _identity(entry: UsageEntry) -> _Identity:
    return (entry.source, entry.offset)


def _decide(groups: Iterable[Sequence[UsageEntry]]) -> dict[_Identity, bool]:
    """Whether each line of each message id group survives ccusage's rules."""
    decided: dict[_Identity, bool] = {}
    for group in groups:
        if len(group) == 1:
            decided[_identity(group[0])] = True
            continue
        survivors = {_identity(entry) for entry in dedupe_message(group)}
        for entry in group:
            identity = _identity(entry)
            decided[identity] = identity in survivors
    return decided


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


class SqlHistoryStore(HistoryStore):
    """``HistoryStore`` on SQLite (aiosqlite) or PostgreSQL (asyncpg); see the module doc."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db
        self._chunk = _SQLITE_IN_CHUNK if db.backend == "sqlite" else _ARRAY_CHUNK
        self._capabilities = Capabilities(backend=db.backend)
        if db.schema is not None:
            self._capabilities.extra["schema"] = db.schema
        if db.revision is not None:
            self._capabilities.extra["schema_revision"] = db.revision
        self._jobs = SqlJobStore(db)
        self._limits = SqlLimitStore(db)
        self._history_id: str | None = None

    # -- lifecycle -----------------------------------------------------------------------
    @classmethod
    async def open(cls, url: str, *, schema: str | None = None) -> SqlHistoryStore:
        """Connect, bring the schema up to date, and return the store (``SqlDatabase.open``)."""
        return cls(await SqlDatabase.open(url, schema=schema))

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def jobs(self) -> SqlJobStore:
        return self._jobs

    @property
    def limits(self) -> SqlLimitStore:
        return self._limits

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

    # -- devices and accounts ------------------------------------------------------------
    async def register_device(
        self,
        device_id: str,
        account: str,
        now_ms: int,
        name: str | None = None,
        hostname: str | None = None,
        version: str | None = None,
    ) -> Device:
        given = {"name": name, "hostname": hostname, "version": version}
        changes: dict[str, Any] = {"account": account, "last_seen_ms": now_ms}
        changes.update({key: value for key, value in given.items() if value is not None})
        stmt = (
            self._db.insert(t.devices)
            .values(
                id=device_id,
                account=account,
                name=device_id if name is None else name,
                hostname=hostname,
                version=version,
                created_ms=now_ms,
                last_seen_ms=now_ms,
                last_push_ms=None,
            )
            .on_conflict_do_update(index_elements=[t.devices.c.id], set_=changes)
            .returning(*t.devices.c)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(stmt)).one()
        return t.device_from_row(row)

    async def get_device(self, device_id: str) -> Device | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(t.devices).where(t.devices.c.id == device_id))).first()
        return None if row is None else t.device_from_row(row)

    async def list_devices(self, account: str | None = None) -> list[Device]:
        stmt = select(t.devices)
        if account is not None:
            stmt = stmt.where(t.devices.c.account == account)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted((t.device_from_row(row) for row in rows), key=lambda device: device.id)

    async def accounts(self) -> list[str]:
        async with self._db.read() as conn:
            found = (await conn.scalars(select(t.devices.c.account).distinct())).all()
        return sorted(found)

    # -- the history's identity ----------------------------------------------------------
    async def history_id(self) -> str:
        if self._history_id is None:  # made with the database: read once
            self._history_id = await sql_marks.history_id(self._db)
        return self._history_id

    async def device_mark(self, device_id: str, stream: str) -> int:
        async with self._db.read() as conn:
            return await sql_marks.device_mark(conn, device_id, stream)

    # -- usage entries -------------------------------------------------------------------
    async def ingest(
        self,
        account: str,
        device_id: str,
        entries: Sequence[UsageEntry],
        now_ms: int,
        mark: StreamMark | None = None,
    ) -> IngestResult:
        batch: dict[_Identity, UsageEntry] = {}
        for entry in entries:
            batch.setdefault(_identity(entry), entry)
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
            if self._db.backend == "postgresql":
                # Servers ingesting for this account concurrently take turns, so each one
                # decides over every line the others stored.
                key = advisory_lock_key("ingest", self._db.schema or "", account)
                await conn.execute(select(func.pg_advisory_xact_lock(key)))
            await conn.execute(device)
            stored = await self._lines_of(conn, account, message_ids)
            candidates = [entry for key, entry in batch.items() if key not in stored]
            accepted = await self._store_new(conn, account, device_id, stored, candidates)
            marked = None
            if mark is not None:  # with the lines: a backup holds both or neither
                marked = await conn.scalar(sql_marks.record(self._db, device_id, mark, now_ms))
        return IngestResult(accepted=accepted, duplicate=len(entries) - accepted, mark=marked)

    async def _lines_of(
        self, conn: AsyncConnection, account: str, message_ids: Sequence[str]
    ) -> dict[_Identity, _StoredLine]:
        """The account's stored lines that carry one of ``message_ids``."""
        found: dict[_Identity, _StoredLine] = {}
        base = select(t.entries.c.id, t.entries.c.kept, *_ENTRY_COLUMNS)
        for chunk in _chunks(message_ids, self._chunk):
            stmt = base.where(
                t.entries.c.account == account, self._among(t.entries.c.message_id, chunk, Text)
            )
            for row in await conn.execute(stmt):
                entry = UsageEntry(*row[2:])
                found[_identity(entry)] = _StoredLine(row[0], row[1], entry)
        return found

    def _among(
        self, column: ColumnElement[Any], values: Sequence[Any], item_type: type[TypeEngine[Any]]
    ) -> ColumnElement[bool]:
        """``column IN values``: on PostgreSQL one array parameter (``= ANY``), so one
        prepared statement serves every count; on SQLite an expanding ``IN`` list."""
        if self._db.backend == "postgresql":
            return column == any_(literal(list(values), postgresql.ARRAY(item_type)))
        return column.in_(values)

    async def _store_new(
        self,
        conn: AsyncConnection,
        account: str,
        device_id: str,
        stored: dict[_Identity, _StoredLine],
        candidates: list[UsageEntry],
    ) -> int:
        """Insert the lines not stored yet, and update ``kept`` of their message ids.

        ``kept`` of the new lines is decided before the insert, so only older lines whose
        fate changed need an update. A candidate can still turn out to be stored (another
        account has that line): then the decision is made again without it.
        """
        if not candidates:
            return 0
        decided = self._decide_with(stored, candidates)
        rows = [
            (*msgspec.structs.astuple(entry), decided.get(_identity(entry), True))
            for entry in candidates
        ]
        inserted = await self._insert_lines(conn, account, device_id, rows)
        current = {key: line.kept for key, line in stored.items()}
        ids = {key: line.id for key, line in stored.items()}
        if len(inserted) != len(candidates):
            candidates = [entry for entry in candidates if _identity(entry) in inserted]
            for entry in candidates:
                key = _identity(entry)
                current[key] = decided.get(key, True)
            decided = self._decide_with(stored, candidates)
        ids.update(inserted)
        flips: dict[bool, list[int]] = {True: [], False: []}
        for key, kept in decided.items():
            if key in current and current[key] != kept:
                flips[kept].append(ids[key])
        for kept, flipped in flips.items():
            for chunk in _chunks(flipped, self._chunk):
                await conn.execute(
                    update(t.entries)
                    .where(self._among(t.entries.c.id, chunk, BigInteger))
                    .values(kept=kept)
                )
        return len(inserted)

    async def _insert_lines(
        self, conn: AsyncConnection, account: str, device_id: str, rows: list[tuple[Any, ...]]
    ) -> dict[_Identity, int]:
        """Insert lines (``UsageEntry`` fields, then ``kept``) unless stored; the new ids.

        PostgreSQL takes one ``INSERT … SELECT FROM unnest(arrays)`` (a single prepared
        statement whatever the batch size); SQLite a multi-row ``VALUES`` insert.
        """
        if self._db.backend == "postgresql":
            params: dict[str, Any] = {"account": account, "device_id": device_id}
            params.update(zip(_UNNEST_PARAMS, map(list, zip(*rows, strict=True)), strict=True))
            result = await conn.execute(_UNNEST_INSERT, params)
            return {(source, offset): row_id for row_id, source, offset in result}
        inserted: dict[_Identity, int] = {}
        for chunk in _chunks(rows, _SQLITE_INSERT_ROWS):
            values = [value for row in chunk for value in (account, device_id, *row)]
            result = await conn.exec_driver_sql(_sqlite_insert(len(chunk)), tuple(values))
            inserted.update(((source, offset), row_id) for row_id, source, offset in result)
        return inserted

    @staticmethod
    def _decide_with(
        stored: dict[_Identity, _StoredLine], candidates: Sequence[UsageEntry]
    ) -> dict[_Identity, bool]:
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

    async def kept_entries(
        self, account: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[StoredEntry]:
        stmt = (
            select(t.entries.c.device_id, *_ENTRY_COLUMNS)
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
        columns = (t.entries.c.id, t.entries.c.kept, t.entries.c.device_id, *_ENTRY_COLUMNS)
        lines: list[tuple[int, bool, StoredEntry]] = []
        async with self._db.read() as conn:
            # First: a prune after this read shows as a new generation next time.
            generation = await self._generation(conn)
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
            for chunk in _chunks(message_ids, self._chunk):
                stmt = select(*columns).where(
                    t.entries.c.account == account,
                    t.entries.c.id <= after_id,
                    self._among(t.entries.c.message_id, chunk, Text),
                )
                lines.extend(_line(row) for row in await conn.execute(stmt))
        return KeptChanges(
            last_id=last_id,
            kept=[(line_id, stored) for line_id, kept, stored in lines if kept],
            dropped=[line_id for line_id, kept, _ in lines if not kept],
            generation=generation,
        )

    @staticmethod
    async def _generation(conn: AsyncConnection) -> int:
        value = await conn.scalar(
            select(t.settings.c.value).where(t.settings.c.key == _GENERATION_SETTING)
        )
        return int(json.loads(value)) if value is not None else 0

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
            if self._db.backend == "postgresql":
                for account in sorted(touched):  # the locks ingest takes, in one order
                    key = advisory_lock_key("ingest", self._db.schema or "", account)
                    await conn.execute(select(func.pg_advisory_xact_lock(key)))
            entries = (await conn.execute(delete(t.entries).where(old))).rowcount
            redecided = 0
            for account, message_ids in sorted(touched.items()):
                redecided += await self._redecide(conn, account, sorted(message_ids))
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
                generation = await self._generation(conn) + 1
                upsert = self._db.insert(t.settings).values(
                    key=_GENERATION_SETTING, value=json.dumps(generation)
                )
                await conn.execute(
                    upsert.on_conflict_do_update(
                        index_elements=[t.settings.c.key], set_={"value": upsert.excluded.value}
                    )
                )
        return PruneResult(entries=entries, blocks=blocks, runs=runs, redecided=redecided)

    async def _redecide(self, conn: AsyncConnection, account: str, message_ids: list[str]) -> int:
        """Decide the message ids again over their stored lines; how many lines flipped."""
        stored = await self._lines_of(conn, account, message_ids)
        groups: dict[str, list[UsageEntry]] = {}
        for line in stored.values():
            assert line.entry.message_id is not None
            groups.setdefault(line.entry.message_id, []).append(line.entry)
        decided = _decide(groups.values())
        flips: dict[bool, list[int]] = {True: [], False: []}
        for key, line in stored.items():
            if decided[key] != line.kept:
                flips[decided[key]].append(line.id)
        for kept, flipped in flips.items():
            for chunk in _chunks(flipped, self._chunk):
                await conn.execute(
                    update(t.entries)
                    .where(self._among(t.entries.c.id, chunk, BigInteger))
                    .values(kept=kept)
                )
        return len(flips[True]) + len(flips[False])

    async def device_entries(
        self, account: str, device_id: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[UsageEntry]:
        stmt = (
            select(*_ENTRY_COLUMNS)
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

    # -- ccusage blocks ------------------------------------------------------------------
    async def replace_blocks(
        self, account: str, device_id: str, blocks: Sequence[StoredBlock]
    ) -> None:
        latest = {block.block_id: block for block in blocks}
        rows = [
            {
                "account": account,
                "device_id": device_id,
                "block_id": block.block_id,
                "start_ms": block.start_ms,
                "end_ms": block.end_ms,
                "actual_end_ms": block.actual_end_ms,
                "is_active": block.is_active,
                "is_gap": block.is_gap,
                "entries": block.entries,
                "input_tokens": block.input_tokens,
                "output_tokens": block.output_tokens,
                "cache_creation_tokens": block.cache_creation_tokens,
                "cache_read_tokens": block.cache_read_tokens,
                "cost_usd": block.cost_usd,
                "models": json.dumps(list(block.models)),
                "received_ms": block.received_ms,
            }
            for block in latest.values()
        ]
        if not rows:
            return
        async with self._db.write() as conn:
            for chunk in _chunks(list(latest), self._chunk):
                await conn.execute(
                    delete(t.blocks).where(
                        t.blocks.c.device_id == device_id,
                        self._among(t.blocks.c.block_id, chunk, Text),
                    )
                )
            await conn.execute(t.blocks.insert(), rows)

    async def blocks(self, account: str, device_id: str | None = None) -> list[StoredBlock]:
        stmt = select(t.blocks).where(t.blocks.c.account == account)
        if device_id is not None:
            stmt = stmt.where(t.blocks.c.device_id == device_id)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        found = [t.block_from_row(row) for row in rows]
        found.sort(key=lambda block: (block.start_ms, block.device_id, block.block_id))
        return found

    async def block_counts(self, account: str) -> dict[str, int]:
        stmt = (
            select(t.blocks.c.device_id, func.count())
            .where(t.blocks.c.account == account)
            .group_by(t.blocks.c.device_id)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return {str(device_id): int(count) for device_id, count in rows}

    # -- tokens --------------------------------------------------------------------------
    async def add_token(self, record: TokenRecord) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                t.tokens.insert().values(
                    id=record.id,
                    kind=record.kind,
                    token_hash=record.token_hash,
                    label=record.label,
                    device_id=record.device_id,
                    created_ms=record.created_ms,
                    last_used_ms=record.last_used_ms,
                    revoked_ms=record.revoked_ms,
                )
            )

    async def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(t.tokens).where(t.tokens.c.token_hash == token_hash))
            ).first()
        return None if row is None else t.token_from_row(row)

    async def list_tokens(self) -> list[TokenRecord]:
        async with self._db.read() as conn:
            rows = (await conn.execute(select(t.tokens))).all()
        found = [t.token_from_row(row) for row in rows]
        found.sort(key=lambda record: (record.created_ms, record.id))
        return found

    async def revoke_token(self, token_id: str, now_ms: int) -> bool:
        stmt = (
            update(t.tokens)
            .where(t.tokens.c.id == token_id, t.tokens.c.revoked_ms.is_(None))
            .values(revoked_ms=now_ms)
        )
        async with self._db.write() as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1

    async def touch_token(self, token_id: str, now_ms: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(t.tokens).where(t.tokens.c.id == token_id).values(last_used_ms=now_ms)
            )

    # -- settings ------------------------------------------------------------------------
    async def get_settings(self) -> dict[str, Any]:
        async with self._db.read() as conn:
            return await self._all_settings(conn)

    async def put_settings(self, values: dict[str, Any]) -> dict[str, Any]:
        rows = [{"key": key, "value": json.dumps(value)} for key, value in values.items()]
        async with self._db.write() as conn:
            if rows:
                stmt = self._db.insert(t.settings)
                await conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[t.settings.c.key], set_={"value": stmt.excluded.value}
                    ),
                    rows,
                )
            return await self._all_settings(conn)

    @staticmethod
    async def _all_settings(conn: AsyncConnection) -> dict[str, Any]:
        rows = (await conn.execute(select(t.settings.c.key, t.settings.c.value))).all()
        return {key: json.loads(value) for key, value in sorted(rows)}
