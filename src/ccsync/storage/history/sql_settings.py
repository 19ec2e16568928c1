"""The settings store on SQLite or PostgreSQL: one row per setting, its value as JSON text."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ccsync.storage.history import schema as t
from ccsync.storage.history.database import SqlDatabase
from ccsync.storage.history.settings import SettingsStore


class SqlSettingsStore(SettingsStore):
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def get_settings(self) -> dict[str, Any]:
        async with self._db.read() as conn:
            return await _all_settings(conn)

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
            return await _all_settings(conn)


async def _all_settings(conn: AsyncConnection) -> dict[str, Any]:
    rows = (await conn.execute(select(t.settings.c.key, t.settings.c.value))).all()
    return {key: json.loads(value) for key, value in sorted(rows)}
