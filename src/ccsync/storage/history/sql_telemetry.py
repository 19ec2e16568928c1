"""The telemetry store on SQLite or PostgreSQL, in the history store's database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select

from ccsync.storage.history import schema as t
from ccsync.storage.history.database import SqlDatabase
from ccsync.storage.history.telemetry import (
    MetricPoint,
    RetentionSweep,
    SessionTotals,
    TelemetryStore,
)


class SqlTelemetryStore(TelemetryStore):
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def add_points(self, points: Sequence[MetricPoint]) -> int:
        latest: dict[str, MetricPoint] = {}
        for point in points:
            held = latest.get(point.series)
            if held is None or point.time_ms > held.time_ms:
                latest[point.series] = point
        if not latest:
            return 0
        rows = [t.row_of(point, t.telemetry_points) for point in latest.values()]
        stmt = self._db.insert(t.telemetry_points)
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.telemetry_points.c.series],
            set_={"time_ms": stmt.excluded.time_ms, "value": stmt.excluded.value},
            where=stmt.excluded.time_ms > t.telemetry_points.c.time_ms,
        )
        changed = 0
        async with self._db.write() as conn:
            for row in rows:  # one by one: the rowcount tells whether each changed
                changed += (await conn.execute(stmt, row)).rowcount
        return changed

    async def session_totals(self, account: str, limit: int = 100) -> list[SessionTotals]:
        p = t.telemetry_points.c
        newest = (
            select(p.device_id, p.session, func.max(p.time_ms).label("last_ms"))
            .where(p.account == account)
            .group_by(p.device_id, p.session)
            .order_by(func.max(p.time_ms).desc(), p.device_id, p.session)
            .limit(limit)
        )
        async with self._db.read() as conn:
            recent = (await conn.execute(newest)).all()
            if not recent:
                return []
            sessions = sorted({row.session for row in recent})
            sums = (
                await conn.execute(
                    select(p.device_id, p.session, p.metric, p.kind, func.sum(p.value))
                    .where(p.account == account, p.session.in_(sessions))
                    .group_by(p.device_id, p.session, p.metric, p.kind)
                )
            ).all()
        totals: dict[tuple[str, str], dict[str, Any]] = {
            (row.device_id, row.session): {"tokens": {}, "cost": 0.0, "last": row.last_ms}
            for row in recent
        }
        for device_id, session, metric, kind, value in sums:
            held = totals.get((device_id, session))
            if held is None:
                continue
            if metric == "cost":
                held["cost"] += float(value)
            else:
                held["tokens"][kind] = held["tokens"].get(kind, 0.0) + float(value)
        return [
            SessionTotals(
                account=account,
                device_id=device_id,
                session=session,
                tokens=held["tokens"],
                cost_usd=held["cost"],
                last_ms=held["last"],
            )
            for (device_id, session), held in totals.items()
        ]

    async def add_sweeps(self, sweeps: Sequence[RetentionSweep]) -> int:
        rows = {sweep.key: t.row_of(sweep, t.retention_sweeps) for sweep in sweeps}
        if not rows:
            return 0
        stmt = self._db.insert(t.retention_sweeps).on_conflict_do_nothing(
            index_elements=[t.retention_sweeps.c.key]
        )
        added = 0
        async with self._db.write() as conn:
            for row in rows.values():
                added += (await conn.execute(stmt, row)).rowcount
        return added

    async def sweeps(
        self, account: str | None = None, device_id: str | None = None, limit: int = 100
    ) -> list[RetentionSweep]:
        s = t.retention_sweeps.c
        stmt = select(t.retention_sweeps).order_by(s.time_ms.desc(), s.key).limit(limit)
        if account is not None:
            stmt = stmt.where(s.account == account)
        if device_id is not None:
            stmt = stmt.where(s.device_id == device_id)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [t.record_of(RetentionSweep, t.retention_sweeps, row) for row in rows]

    async def prune(self, before_ms: int) -> int:
        async with self._db.write() as conn:
            points = await conn.execute(
                delete(t.telemetry_points).where(t.telemetry_points.c.time_ms < before_ms)
            )
            sweeps = await conn.execute(
                delete(t.retention_sweeps).where(t.retention_sweeps.c.time_ms < before_ms)
            )
        return int(points.rowcount) + int(sweeps.rowcount)
