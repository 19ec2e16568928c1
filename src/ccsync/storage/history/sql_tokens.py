"""The token store on SQLite or PostgreSQL, in the history store's database."""

from __future__ import annotations

from sqlalchemy import select, update

from ccsync.storage.history import schema as t
from ccsync.storage.history.database import SqlDatabase
from ccsync.storage.history.tokens import TokenRecord, TokenStore


class SqlTokenStore(TokenStore):
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def add_token(self, record: TokenRecord) -> None:
        async with self._db.write() as conn:
            await conn.execute(t.tokens.insert().values(**t.row_of(record, t.tokens)))

    async def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(t.tokens).where(t.tokens.c.token_hash == token_hash))
            ).first()
        return None if row is None else t.record_of(TokenRecord, t.tokens, row)

    async def list_tokens(self) -> list[TokenRecord]:
        async with self._db.read() as conn:
            rows = (await conn.execute(select(t.tokens))).all()
        found = [t.record_of(TokenRecord, t.tokens, row) for row in rows]
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
