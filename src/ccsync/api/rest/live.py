"""``/api/metrics``: the seed's live key-value API over the live store (``live:<key>``).

Anyone may read every key. Client keys may be stored and deleted by any token; the
server's own keys (``live_keys.is_server_owned``) are read-only here (403). Client values
are capped in size, number and total (413, ``Settings.live_max_*``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ccsync.api import deps
from ccsync.api.deps import Reader
from ccsync.api.errors import ApiError, ErrorBody
from ccsync.server import events
from ccsync.server.live_keys import is_server_owned
from ccsync.storage.live.base import LiveCapError, LiveValueTooLargeError
from ccsync.storage.live.common import render_object
from ccsync.usage.timestamps import iso_millis

router = APIRouter(tags=["live data"])

Key = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9._:@-]{1,200}$", description="letters, digits and ._:@-")
]
REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "a key the server owns (read-only here)"},
    413: {"model": ErrorBody, "description": "the value, or the live store, is full"},
}


class LiveData(BaseModel):
    data: dict[str, Any]


class LiveValue(BaseModel):
    key: str
    data: Any = None


class Stored(BaseModel):
    success: bool
    key: str
    data: Any = None


def _writable(key: str) -> None:
    if is_server_owned(key):
        raise ApiError(
            403,
            f"live key {key!r} belongs to the server (device states, windows, limits, "
            "counters and schedules are written by pushes, not here): it is read-only",
        )


@router.get("/api/metrics", response_model=LiveData, summary="Every live key")
async def all_values(request: Request, who: Reader) -> Response:
    # The stored JSON texts as they are: nothing is decoded and encoded again.
    snapshot = await deps.services(request).live.snapshot()
    body = b'{"data":%s}' % render_object(snapshot.texts)
    return Response(body, media_type="application/json")


@router.get(
    "/api/metrics/{key}", response_model=LiveValue, summary="One live key (null when missing)"
)
async def one_value(request: Request, key: Key, who: Reader) -> dict[str, Any]:
    return {"key": key, "data": await deps.services(request).live.get(key)}


@router.post(
    "/api/metrics/{key}",
    response_model=Stored,
    summary="Store a value for 300 s and publish it",
    responses=REFUSED,
)
async def store_value(
    request: Request, key: Key, who: Reader, body: Annotated[Any, Body()] = None
) -> dict[str, Any]:
    _writable(key)
    services = deps.services(request)
    now = services.clock.now_ms()
    stamp = iso_millis(now)
    data = (
        {**body, "timestamp": stamp}
        if isinstance(body, dict)
        else {"value": body, "timestamp": stamp}
    )
    try:
        await services.live.set(key, data)
    except LiveCapError as exc:
        reason = "value" if isinstance(exc, LiveValueTooLargeError) else "store"
        raise ApiError(413, str(exc), limit=exc.limit, reason=reason) from None
    except (TypeError, ValueError) as exc:  # NaN, Infinity, lone surrogates: not storable
        raise ApiError(422, f"the value is not storable JSON: {exc}") from None
    await services.live.publish(events.live_data_update(key, data, now))
    return {"success": True, "key": key, "data": data}


@router.delete(
    "/api/metrics/{key}", response_model=Stored, summary="Remove a live key", responses=REFUSED
)
async def delete_value(request: Request, key: Key, who: Reader) -> dict[str, Any]:
    _writable(key)
    services = deps.services(request)
    if not await services.live.delete(key):
        raise ApiError(404, f"no live key {key!r}")
    await services.live.publish(events.live_data_update(key, None, services.clock.now_ms()))
    return {"success": True, "key": key, "data": None}
