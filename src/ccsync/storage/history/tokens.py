"""API tokens: only each token's SHA-256 is stored, never the token.

Backends: ``sql_tokens.SqlTokenStore``; every backend passes
``tests/contract/test_token_store.py``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Literal

TokenKind = Literal["admin", "device"]


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token; only its SHA-256 is stored, never the token."""

    id: str
    kind: TokenKind
    token_hash: str
    label: str = ""
    device_id: str | None = None
    """The device a device token speaks for (``None`` for admin tokens)."""
    created_ms: int = 0
    last_used_ms: int | None = None
    revoked_ms: int | None = None

    @property
    def active(self) -> bool:
        return self.revoked_ms is None


class TokenStore(abc.ABC):
    @abc.abstractmethod
    async def add_token(self, record: TokenRecord) -> None: ...

    @abc.abstractmethod
    async def token_by_hash(self, token_hash: str) -> TokenRecord | None: ...

    @abc.abstractmethod
    async def list_tokens(self) -> list[TokenRecord]:
        """All tokens, revoked ones included, by creation time."""

    @abc.abstractmethod
    async def revoke_token(self, token_id: str, now_ms: int) -> bool:
        """Revoke; whether an active token had that id."""

    @abc.abstractmethod
    async def touch_token(self, token_id: str, now_ms: int) -> None:
        """Record a use (``last_used_ms``)."""
