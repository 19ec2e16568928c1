"""The token store contract (``TokenStore``), on SQLite and PostgreSQL: hashed tokens,
their use and their revocation."""

from __future__ import annotations

from ccsync.storage.history.tokens import TokenRecord, TokenStore


async def test_tokens(tokens: TokenStore) -> None:
    admin = TokenRecord("t2", "admin", "h-admin", "ops", None, created_ms=200)
    device = TokenRecord("t1", "device", "h-device", "", "d1", created_ms=100)
    await tokens.add_token(admin)
    await tokens.add_token(device)
    assert await tokens.token_by_hash("h-admin") == admin
    assert await tokens.token_by_hash("nope") is None
    assert await tokens.list_tokens() == [device, admin]

    await tokens.touch_token("t1", 300)
    touched = await tokens.token_by_hash("h-device")
    assert touched is not None and touched.last_used_ms == 300 and touched.active

    assert await tokens.revoke_token("t1", 400) is True
    assert await tokens.revoke_token("t1", 500) is False
    assert await tokens.revoke_token("missing", 500) is False
    revoked = await tokens.token_by_hash("h-device")
    assert revoked is not None and revoked.revoked_ms == 400 and not revoked.active
    assert [t.active for t in await tokens.list_tokens()] == [False, True]
