"""Typed access to the running server's objects from a request, and the auth dependencies."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from ccsync.api.errors import ApiError
from ccsync.api.hub import SocketHub
from ccsync.server.access import Principal
from ccsync.server.buckets import RateLimiter
from ccsync.server.initial_data import InitialData
from ccsync.server.telemetry import Telemetry
from ccsync.services import Services


def services(conn: HTTPConnection) -> Services:
    return cast(Services, conn.state.services)


def hub(conn: HTTPConnection) -> SocketHub:
    return cast(SocketHub, conn.state.hub)


def telemetry(conn: HTTPConnection) -> Telemetry:
    return services(conn).telemetry


def push_limiter(conn: HTTPConnection) -> RateLimiter:
    return services(conn).push_limiter


def initial_data(conn: HTTPConnection) -> InitialData:
    return cast(InitialData, conn.state.initial_data)


def client_address(conn: HTTPConnection) -> str:
    """The peer's address (what per-client limits are keyed by)."""
    return conn.client.host if conn.client is not None else "unknown"


def bearer_token(conn: HTTPConnection, allow_query: bool = False) -> str | None:
    """The token of ``Authorization: Bearer …`` (or ``?token=`` where allowed: WebSockets)."""
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if allow_query:
        return conn.query_params.get("token") or None
    return None


async def principal(request: Request) -> Principal:
    found = await services(request).auth.authenticate(bearer_token(request))
    if found is None:
        raise ApiError(
            401,
            "authentication required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return found


async def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if not who.is_admin:
        raise ApiError(403, "this needs the admin token")
    return who


Reader = Annotated[Principal, Depends(principal)]
Admin = Annotated[Principal, Depends(admin)]
