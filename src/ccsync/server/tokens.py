"""API tokens: made with ``secrets``, stored as SHA-256 hashes, compared in constant time;
and ``Tokens``, the service that makes, lists and revokes them (``/api/tokens``, admin).

Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
The admin token of a server bound off loopback lives, in clear, only in a 0600 file in
the data directory (and in the operator's hands); the database holds its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from ccsync.clock import Clock
from ccsync.private import private_dir
from ccsync.server import events
from ccsync.server.errors import NotFoundError, UnprocessableError
from ccsync.storage.history.devices import DeviceStore
from ccsync.storage.history.tokens import TokenKind, TokenRecord, TokenStore
from ccsync.storage.live.base import EventBus
from ccsync.usage.timestamps import iso_millis
from ccsync.wire import DEVICE_ID_PATTERN, device_id_problem

TOKEN_PREFIX = "ccs_"
ADMIN_TOKEN_FILE = "admin-token"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    return secrets.token_hex(6)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def ensure_admin_token(data_dir: Path) -> tuple[str, bool]:
    """The admin token from ``<data_dir>/admin-token``, made (mode 0600) on first use.

    Returns the token and whether it was created just now (so it can be shown once).
    """
    path = data_dir / ADMIN_TOKEN_FILE
    try:
        return path.read_text().strip(), False
    except FileNotFoundError:
        pass
    private_dir(data_dir)
    token = new_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token, True


class NewToken(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    """A token to make: a device's (it speaks for that device only) or an admin's."""

    kind: Literal["device", "admin"] = "device"
    device_id: Annotated[str, Meta(pattern=DEVICE_ID_PATTERN)] | None = None
    label: Annotated[str, Meta(max_length=200)] = ""
    account: Annotated[str, Meta(min_length=1, max_length=256)] | None = None
    """The account the device belongs to from now on (without one: its own, or its first
    push's)."""


class TokenView(msgspec.Struct, rename="camel"):
    """A token as the API lists it (never the secret)."""

    id: str
    kind: TokenKind
    label: str
    device_id: str | None
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    active: bool


class MadeToken(TokenView):
    """A token just made: the only time the secret is shown."""

    success: bool
    token: str


class TokenList(msgspec.Struct):
    tokens: list[TokenView]


class Revoked(msgspec.Struct):
    success: bool
    id: str


def token_view(record: TokenRecord) -> TokenView:
    return TokenView(
        id=record.id,
        kind=record.kind,
        label=record.label,
        device_id=record.device_id,
        created_at=iso_millis(record.created_ms),
        last_used_at=_iso(record.last_used_ms),
        revoked_at=_iso(record.revoked_ms),
        active=record.active,
    )


def _iso(ms: int | None) -> str | None:
    return None if ms is None else iso_millis(ms)


class Tokens:
    """Device and admin tokens: made, listed, revoked (the API's admin side)."""

    def __init__(
        self, *, tokens: TokenStore, devices: DeviceStore, bus: EventBus, clock: Clock
    ) -> None:
        self.tokens = tokens
        self.devices = devices
        self.bus = bus
        self.clock = clock

    async def listing(self) -> TokenList:
        return TokenList(tokens=[token_view(r) for r in await self.tokens.list_tokens()])

    async def make(self, spec: NewToken) -> MadeToken:
        """A new token (stored hashed); a device token binds its device to ``account``."""
        if spec.kind == "device" and not spec.device_id:
            raise UnprocessableError("a device token needs a 'deviceId'")
        now = self.clock.now_ms()
        if spec.kind == "device" and spec.device_id:
            problem = device_id_problem(spec.device_id)
            if problem is not None:
                raise UnprocessableError(problem)
            if spec.account is not None:
                # The token speaks for this account (an admin may move a device so); without
                # one, the device's own account binds it: the one it has, or its first push's.
                await self.devices.register_device(spec.device_id, spec.account, now)
        token = new_token()
        record = TokenRecord(
            id=new_token_id(),
            kind=spec.kind,
            token_hash=hash_token(token),
            label=spec.label or (spec.device_id or spec.kind),
            device_id=spec.device_id if spec.kind == "device" else None,
            created_ms=now,
        )
        await self.tokens.add_token(record)
        shown = msgspec.structs.asdict(token_view(record))
        return MadeToken(**shown, success=True, token=token)

    async def revoke(self, token_id: str) -> Revoked:
        """Revoke it; every replica closes the sockets opened with it (``token_revoked``)."""
        now = self.clock.now_ms()
        if not await self.tokens.revoke_token(token_id, now):
            raise NotFoundError(f"no active token {token_id!r}")
        await events.publish(
            self.bus, events.TokenRevoked(token_id=token_id, timestamp=iso_millis(now))
        )
        return Revoked(success=True, id=token_id)
