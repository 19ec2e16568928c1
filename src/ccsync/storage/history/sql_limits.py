"""The limit store on SQLite or PostgreSQL, in the history store's database."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update

from ccsync.storage.history import schema as t
from ccsync.storage.history.database import SqlDatabase
from ccsync.storage.history.limits import AlertRecord, AlertStatus, LimitStore, ReadingRecord

_READING_IDENTITY = ["account", "window", "device_id", "source", "observed_ms"]
_ALERT_IDENTITY = ["account", "window", "rule", "period"]


class SqlLimitStore(LimitStore):
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def add_readings(self, records: Sequence[ReadingRecord]) -> int:
        if not records:
            return 0
        stmt = (
            self._db.insert(t.limit_readings)
            .values([t.row_of(record, t.limit_readings) for record in records])
            .on_conflict_do_nothing(index_elements=_READING_IDENTITY)
        )
        async with self._db.write() as conn:
            result = await conn.execute(stmt)
        return max(0, result.rowcount)

    async def readings(self, account: str, since_ms: int) -> list[ReadingRecord]:
        table = t.limit_readings
        stmt = (
            select(table)
            .where(table.c.account == account, table.c.observed_ms >= since_ms)
            .order_by(table.c.observed_ms, table.c.id)
        )
        async with self._db.read() as conn:
            found = (await conn.execute(stmt)).all()
        return [t.record_of(ReadingRecord, t.limit_readings, row) for row in found]

    async def prune_readings(self, before_ms: int) -> int:
        stmt = delete(t.limit_readings).where(t.limit_readings.c.observed_ms < before_ms)
        async with self._db.write() as conn:
            result = await conn.execute(stmt)
        return max(0, result.rowcount)

    async def claim_alert(self, record: AlertRecord) -> AlertRecord | None:
        values = t.row_of(record, t.alert_history)
        del values["id"]
        stmt = (
            self._db.insert(t.alert_history)
            .values(**values)
            .on_conflict_do_nothing(index_elements=_ALERT_IDENTITY)
            .returning(t.alert_history.c.id)
        )
        async with self._db.write() as conn:
            alert_id = await conn.scalar(stmt)
        if alert_id is None:
            return None
        return AlertRecord(**{**values, "id": int(alert_id)})

    async def finish_alert(self, alert_id: int, status: AlertStatus, error: str | None) -> None:
        stmt = (
            update(t.alert_history)
            .where(t.alert_history.c.id == alert_id)
            .values(status=status, error=error)
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def alerts(self, account: str | None = None, limit: int = 100) -> list[AlertRecord]:
        table = t.alert_history
        stmt = select(table).order_by(table.c.fired_ms.desc(), table.c.id.desc()).limit(limit)
        if account is not None:
            stmt = stmt.where(table.c.account == account)
        async with self._db.read() as conn:
            found = (await conn.execute(stmt)).all()
        return [t.record_of(AlertRecord, t.alert_history, row) for row in found]
