"""The device store on SQLite or PostgreSQL, in the history store's database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ccsync.storage.history import schema as t
from ccsync.storage.history.database import SqlDatabase
from ccsync.storage.history.devices import Device, DeviceStore


class SqlDeviceStore(DeviceStore):
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

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
        return t.record_of(Device, t.devices, row)

    async def get_device(self, device_id: str) -> Device | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(t.devices).where(t.devices.c.id == device_id))).first()
        return None if row is None else t.record_of(Device, t.devices, row)

    async def list_devices(self, account: str | None = None) -> list[Device]:
        stmt = select(t.devices)
        if account is not None:
            stmt = stmt.where(t.devices.c.account == account)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        found = [t.record_of(Device, t.devices, row) for row in rows]
        return sorted(found, key=lambda device: device.id)

    async def accounts(self) -> list[str]:
        async with self._db.read() as conn:
            found = (await conn.scalars(select(t.devices.c.account).distinct())).all()
        return sorted(found)
