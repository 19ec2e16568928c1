"""``/api/metrics``: a key-value API over the live store, for any client (``server.live_data``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from ccsync.api import deps
from ccsync.api.deps import Reader
from ccsync.api.typed import TypedRoute, any_json, body_doc, response_doc
from ccsync.server.live_data import LiveValue, LiveValues, Stored

router = APIRouter(tags=["live data"], route_class=TypedRoute)

Key = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9._:@-]{1,200}$", description="letters, digits and ._:@-")
]
REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "a key the server owns (read-only here)"},
    413: {"description": "the value, or the live store, is full"},
}


@router.get("/api/metrics", summary="Every live key", responses={200: response_doc(LiveValues)})
async def all_values(request: Request, who: Reader) -> Response:
    body = await deps.services(request).live_data.all_json()
    return Response(body, media_type="application/json")


@router.get("/api/metrics/{key}", summary="One live key (null when missing)")
async def one_value(request: Request, key: Key, who: Reader) -> LiveValue:
    return await deps.services(request).live_data.get(key)


@router.post(
    "/api/metrics/{key}",
    summary="Store a value for 300 s and publish it",
    responses=REFUSED,
    openapi_extra=body_doc(Any, required=False),
)
async def store_value(request: Request, key: Key, who: Reader) -> Stored:
    """The body is any JSON: an object is stored with a ``timestamp`` added, anything else
    as ``{"value": …, "timestamp": …}``."""
    return await deps.services(request).live_data.store(key, await any_json(request))


@router.delete("/api/metrics/{key}", summary="Remove a live key", responses=REFUSED)
async def delete_value(request: Request, key: Key, who: Reader) -> Stored:
    return await deps.services(request).live_data.delete(key)
