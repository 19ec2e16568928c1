"""``/api/metrics``: the seed's live key-value API over the live store (``live:<key>``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel

from ccsync import events
from ccsync.api import deps
from ccsync.api.deps import Reader
from ccsync.api.errors import ApiError
from ccsync.usage.timestamps import iso_millis

router = APIRouter(tags=["live data"])

Key = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9._:@-]{1,200}$", description="letters, digits and ._:@-")
]


class LiveData(BaseModel):
    data: dict[str, Any]


class LiveValue(BaseModel):
    key: str
    data: Any = None


class Stored(BaseModel):
    success: bool
    key: str
    data: Any = None


@router.get("/api/metrics", response_model=LiveData, summary="Every live key")
async def all_values(request: Request, who: Reader) -> dict[str, Any]:
    return {"data": await deps.services(request).live.items()}


@router.get(
    "/api/metrics/{key}", response_model=LiveValue, summary="One live key (null when missing)"
)
async def one_value(request: Request, key: Key, who: Reader) -> dict[str, Any]:
    return {"key": key, "data": await deps.services(request).live.get(key)}


@router.post(
    "/api/metrics/{key}", response_model=Stored, summary="Store a value for 300 s and publish it"
)
async def store_value(
    request: Request, key: Key, who: Reader, body: Annotated[Any, Body()] = None
) -> dict[str, Any]:
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
    except (TypeError, ValueError) as exc:  # NaN and Infinity parse, but are not JSON
        raise ApiError(422, f"the value is not storable JSON: {exc}") from None
    await services.live.publish(events.live_data_update(key, data, now))
    return {"success": True, "key": key, "data": data}


@router.delete("/api/metrics/{key}", response_model=Stored, summary="Remove a live key")
async def delete_value(request: Request, key: Key, who: Reader) -> dict[str, Any]:
    services = deps.services(request)
    if not await services.live.delete(key):
        raise ApiError(404, f"no live key {key!r}")
    await services.live.publish(events.live_data_update(key, None, services.clock.now_ms()))
    return {"success": True, "key": key, "data": None}
