"""The history's identity in SQL: the database's random id, and each agent stream's mark.

``history_identity`` holds one row, made by migration 0006 (so a new or wiped database,
or one restored from a backup older than that migration, has a new id). ``device_marks``
holds, per device and agent stream, the number up to which the database stores every line
of the stream (``wire.UsagePush``): it is written in the transaction that stores the
lines, so a backup holds the lines and the mark together.
"""

from __future__ import annotations

import time
import uuid

from sqlalchemy import and_, case, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from ccsync.storage.history import schema as t
from ccsync.storage.history.database import SqlDatabase
from ccsync.storage.history.entries import StreamMark

_SLOT = 1


async def history_id(db: SqlDatabase) -> str:
    """The database's id (made now if the row is missing: the database is a new history)."""
    query = select(t.history_identity.c.history_id).where(t.history_identity.c.slot == _SLOT)
    async with db.read() as conn:
        found = await conn.scalar(query)
    if found is not None:
        return str(found)
    async with db.write() as conn:
        await conn.execute(
            db.insert(t.history_identity)
            .values(slot=_SLOT, history_id=uuid.uuid4().hex, created_ms=int(time.time() * 1000))
            .on_conflict_do_nothing(index_elements=[t.history_identity.c.slot])
        )
        return str(await conn.scalar(query))


async def device_mark(conn: AsyncConnection, device_id: str, stream: str) -> int:
    """The stream's mark (0 when the database knows nothing of it)."""
    found = await conn.scalar(
        select(t.device_marks.c.mark).where(
            t.device_marks.c.device_id == device_id, t.device_marks.c.stream == stream
        )
    )
    return int(found or 0)


def record(db: SqlDatabase, device_id: str, mark: StreamMark, now_ms: int) -> Executable:
    """``INSERT … ON CONFLICT DO UPDATE … RETURNING mark``: the mark moves up to
    ``mark.seq`` if it is at least ``mark.acked`` (else lines the agent saw acknowledged
    are missing here, and the mark stays below them, which tells the agent)."""
    current = t.device_marks.c.mark
    seq, acked = literal(mark.seq), literal(mark.acked)
    stmt = db.insert(t.device_marks).values(
        device_id=device_id,
        stream=mark.stream,
        mark=mark.seq if mark.acked == 0 else 0,
        updated_ms=now_ms,
    )
    return stmt.on_conflict_do_update(
        index_elements=[t.device_marks.c.device_id, t.device_marks.c.stream],
        set_={
            "mark": case((and_(current >= acked, current < seq), seq), else_=current),
            "updated_ms": now_ms,
        },
    ).returning(current)
