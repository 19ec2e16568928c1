"""The block store on SQLite or PostgreSQL, in the history store's database."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import Text, delete, func, select

from ccsync.storage.history import schema as t
from ccsync.storage.history.blocks import BlockStore, StoredBlock
from ccsync.storage.history.database import SqlDatabase
from ccsync.storage.history.sql_batches import among, chunk_size, chunks


class SqlBlockStore(BlockStore):
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db
        self._chunk = chunk_size(db.backend)

    async def replace_blocks(
        self, account: str, device_id: str, blocks: Sequence[StoredBlock]
    ) -> None:
        latest = {block.block_id: block for block in blocks}
        rows = [
            t.row_of(dataclasses.replace(block, account=account, device_id=device_id), t.blocks)
            for block in latest.values()
        ]
        if not rows:
            return
        async with self._db.write() as conn:
            for chunk in chunks(list(latest), self._chunk):
                await conn.execute(
                    delete(t.blocks).where(
                        t.blocks.c.device_id == device_id,
                        among(self._db.backend, t.blocks.c.block_id, chunk, Text),
                    )
                )
            await conn.execute(t.blocks.insert(), rows)

    async def blocks(self, account: str, device_id: str | None = None) -> list[StoredBlock]:
        stmt = select(t.blocks).where(t.blocks.c.account == account)
        if device_id is not None:
            stmt = stmt.where(t.blocks.c.device_id == device_id)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        found = [t.record_of(StoredBlock, t.blocks, row) for row in rows]
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
