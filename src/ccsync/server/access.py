"""Who is asking: the principal behind a request, and what it may do.

- Local mode (bound to loopback, no admin token): one user, no tokens, everything allowed.
- Otherwise every request but ``/health`` carries a bearer token. The admin token manages
  everything; a device token pushes and reads, and speaks for its own device only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ccsync.clock import Clock
from ccsync.server.tokens import hash_token, same_hash
from ccsync.storage.history.tokens import TokenStore

PrincipalKind = Literal["local", "admin", "device"]


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    device_id: str | None = None
    token_id: str | None = None
    token_hash: str | None = None
    """Of a stored token: how ``still_valid`` finds it again."""

    @property
    def is_admin(self) -> bool:
        return self.kind in ("local", "admin")

    def may_push_for(self, device_id: str) -> bool:
        return self.is_admin or self.device_id == device_id


LOCAL = Principal("local")


class Authenticator:
    def __init__(
        self, tokens: TokenStore, clock: Clock, admin_token: str | None, local_mode: bool
    ) -> None:
        self.tokens = tokens
        self.clock = clock
        self.local_mode = local_mode
        self._admin_hash = hash_token(admin_token) if admin_token else None

    async def authenticate(self, token: str | None) -> Principal | None:
        """The principal of a token (``None``: no valid token). Local mode needs none."""
        if self.local_mode:
            return LOCAL
        if not token:
            return None
        digest = hash_token(token)
        if self._admin_hash is not None and same_hash(digest, self._admin_hash):
            return Principal("admin")
        record = await self.tokens.token_by_hash(digest)
        if record is None or not record.active:
            return None
        await self.tokens.touch_token(record.id, self.clock.now_ms())
        if record.kind == "admin":
            return Principal("admin", token_id=record.id, token_hash=digest)
        return Principal(
            "device", device_id=record.device_id, token_id=record.id, token_hash=digest
        )

    async def still_valid(self, principal: Principal) -> bool:
        """Whether the token behind ``principal`` has not been revoked since (long-lived
        WebSockets check now and then, besides hearing ``token_revoked`` events)."""
        if principal.token_hash is None:
            return True
        record = await self.tokens.token_by_hash(principal.token_hash)
        return record is not None and record.active
