"""Quarantine lines stored with a time the server now refuses.

Before ``ccsync.bounds``, a push could store a line dated before 2023 or far ahead (a
year-9999 line broke the window for good). This moves such lines out of ``entries`` into
``quarantined_entries`` (every column, plus the reason and when), with the bounds as the
server applies them at the moment the migration runs (its clock + 1 day; resets + 8 days).
The message ids they carried are decided again over the lines that stay (a quarantined
line may have been the survivor of its duplicates), and the survivors' generation moves
on, so running servers reload their mirrors. ccusage blocks stored out of the same bounds
are deleted: a device sends its blocks again with every push.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from ccsync.usage.dedup import dedupe_message
from ccsync.usage.entry import UsageEntry

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

log = logging.getLogger("ccsync.storage.history")

EARLIEST_MS = 1_672_531_200_000
"""2023-01-01T00:00:00.000Z (``ccsync.bounds`` as of this revision)."""
DAY_MS = 86_400_000
RESET_AHEAD_MS = 8 * DAY_MS
CHUNK = 2000
"""Values per ``IN (…)`` list (SQLite takes at most 32766 parameters)."""
GENERATION_SETTING = "history.generation"

_ENTRY_COLUMNS: tuple[tuple[str, Any], ...] = (
    # The ``UsageEntry`` fields in order, as 0001 created them.
    ("timestamp_ms", sa.BigInteger()),
    ("input_tokens", sa.BigInteger()),
    ("output_tokens", sa.BigInteger()),
    ("cache_creation_tokens", sa.BigInteger()),
    ("cache_creation_1h_tokens", sa.BigInteger()),
    ("cache_read_tokens", sa.BigInteger()),
    ("model", sa.Text()),
    ("fast", sa.Boolean()),
    ("has_speed", sa.Boolean()),
    ("message_id", sa.Text()),
    ("request_id", sa.Text()),
    ("session_field", sa.Text()),
    ("cost_usd", sa.Double()),
    ("sidechain", sa.Boolean()),
    ("usage_limit_reset_ms", sa.BigInteger()),
    ("project", sa.Text()),
    ("session", sa.Text()),
    ("project_path", sa.Text()),
    ("source", sa.Text()),
    ("line_offset", sa.BigInteger()),
)
_NULLABLE = {"model", "message_id", "request_id", "session_field", "cost_usd"}
_NULLABLE |= {"usage_limit_reset_ms"}
_COLUMNS = (
    ("id", sa.BigInteger()),
    ("account", sa.Text()),
    ("device_id", sa.Text()),
    *_ENTRY_COLUMNS,
    ("kept", sa.Boolean()),
)
_ENTRY_NAMES = [name for name, _ in _ENTRY_COLUMNS]


def upgrade() -> None:
    op.create_table(
        "quarantined_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        *(
            sa.Column(name, type_, nullable=name in _NULLABLE)
            for name, type_ in _COLUMNS
            if name != "id"
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("quarantined_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quarantined_entries"),
    )
    now = time.time_ns() // 1_000_000  # "the server's clock": the migration runs as it starts
    moved = _quarantine_entries(op.get_bind(), now)
    blocks = _delete_blocks(op.get_bind(), now)
    if moved or blocks:
        log.warning(
            "history.quarantined",
            extra={"entries": moved, "blocks": blocks, "table": "quarantined_entries"},
        )


def downgrade() -> None:
    op.drop_table("quarantined_entries")


def _entries() -> sa.TableClause:
    return sa.table("entries", *(sa.column(name, type_) for name, type_ in _COLUMNS))


def _quarantine_entries(bind: sa.Connection, now: int) -> int:
    entries = _entries()
    quarantined = sa.table(
        "quarantined_entries",
        *(sa.column(name, type_) for name, type_ in _COLUMNS),
        sa.column("reason", sa.Text()),
        sa.column("quarantined_ms", sa.BigInteger()),
    )
    stamp, reset = entries.c.timestamp_ms, entries.c.usage_limit_reset_ms
    late, late_reset = now + DAY_MS, now + RESET_AHEAD_MS
    out = sa.or_(
        stamp < EARLIEST_MS,
        stamp > late,
        sa.and_(reset.is_not(None), sa.or_(reset < EARLIEST_MS, reset > late_reset)),
    )
    reason = sa.case(
        (stamp < EARLIEST_MS, sa.literal("timestamp before 2023", sa.Text())),
        (
            stamp > late,
            sa.literal("timestamp more than a day ahead of the server's clock", sa.Text()),
        ),
        (reset < EARLIEST_MS, sa.literal("usageLimitReset before 2023", sa.Text())),
        else_=sa.literal("usageLimitReset more than 8 days ahead of the server's clock", sa.Text()),
    )
    touched: dict[str, set[str]] = {}
    query = (
        sa.select(entries.c.account, entries.c.message_id)
        .where(out, entries.c.message_id.is_not(None))
        .distinct()
    )
    for account, message_id in bind.execute(query):
        touched.setdefault(account, set()).add(message_id)
    names = [name for name, _ in _COLUMNS]
    rows = sa.select(
        *(entries.c[name] for name in names),
        reason,
        sa.literal(now, sa.BigInteger()),
    ).where(out)
    bind.execute(quarantined.insert().from_select([*names, "reason", "quarantined_ms"], rows))
    moved = bind.execute(sa.delete(entries).where(out)).rowcount
    for account, message_ids in sorted(touched.items()):
        for start in range(0, len(message_ids), CHUNK):
            _redecide(bind, account, sorted(message_ids)[start : start + CHUNK])
    if moved:
        _next_generation(bind)
    return moved


def _redecide(bind: sa.Connection, account: str, message_ids: Sequence[str]) -> None:
    """Decide these message ids again over the lines that stay (as ``SqlEntryStore.prune``)."""
    entries = _entries()
    query = sa.select(
        entries.c.id, entries.c.kept, *(entries.c[name] for name in _ENTRY_NAMES)
    ).where(entries.c.account == account, entries.c.message_id.in_(message_ids))
    groups: dict[str, list[tuple[int, bool, UsageEntry]]] = {}
    for row in bind.execute(query):
        entry = UsageEntry(*row[2:])
        assert entry.message_id is not None
        groups.setdefault(entry.message_id, []).append((row[0], row[1], entry))
    flips: dict[bool, list[int]] = {True: [], False: []}
    for lines in groups.values():
        survivors = {(e.source, e.offset) for e in dedupe_message([e for _, _, e in lines])}
        for line_id, kept, entry in lines:
            if ((entry.source, entry.offset) in survivors) != kept:
                flips[not kept].append(line_id)
    for kept, ids in flips.items():
        if ids:
            bind.execute(sa.update(entries).where(entries.c.id.in_(ids)).values(kept=kept))


def _next_generation(bind: sa.Connection) -> None:
    settings = sa.table("settings", sa.column("key", sa.Text()), sa.column("value", sa.Text()))
    current = bind.scalar(sa.select(settings.c.value).where(settings.c.key == GENERATION_SETTING))
    if current is None:
        bind.execute(settings.insert().values(key=GENERATION_SETTING, value=json.dumps(1)))
    else:
        bind.execute(
            sa.update(settings)
            .where(settings.c.key == GENERATION_SETTING)
            .values(value=json.dumps(int(json.loads(current)) + 1))
        )


def _delete_blocks(bind: sa.Connection, now: int) -> int:
    """ccusage blocks out of the bounds ingest applies to them (an end may be 2 days ahead)."""
    blocks = sa.table(
        "blocks",
        sa.column("start_ms", sa.BigInteger()),
        sa.column("end_ms", sa.BigInteger()),
        sa.column("actual_end_ms", sa.BigInteger()),
    )
    start, end, actual = blocks.c.start_ms, blocks.c.end_ms, blocks.c.actual_end_ms
    late = now + DAY_MS
    out = sa.or_(
        start < EARLIEST_MS,
        start > late,
        end < EARLIEST_MS,
        end > late + DAY_MS,
        sa.and_(actual.is_not(None), sa.or_(actual < EARLIEST_MS, actual > late)),
    )
    return int(bind.execute(sa.delete(blocks).where(out)).rowcount)
