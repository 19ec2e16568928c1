"""Runtime settings (``/api/config``) and the live store's Redis connection (``/api/config/redis``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from ccsync.api import deps
from ccsync.api.deps import Admin, Reader
from ccsync.api.typed import TypedRoute, json_body
from ccsync.server.configuration import ConfigChange, ConfigView, RedisChange, RedisView

router = APIRouter(tags=["configuration"], route_class=TypedRoute)


@router.get("/api/config", summary="Runtime settings")
async def get_config(request: Request, who: Reader) -> ConfigView:
    return await deps.services(request).configuration.view()


@router.put(
    "/api/config",
    summary="Change runtime settings (the fields given; warm-up times are warm-up jobs)",
)
async def put_config(
    request: Request, who: Admin, change: Annotated[ConfigChange, json_body(ConfigChange)]
) -> ConfigView:
    return await deps.services(request).configuration.change(change)


@router.get("/api/config/redis", summary="The live store's Redis (password masked)")
async def get_redis(request: Request, who: Admin) -> RedisView:
    return await deps.services(request).configuration.redis()


@router.put(
    "/api/config/redis",
    summary="Use another Redis (checked first: if it cannot connect, nothing changes)",
)
async def put_redis(
    request: Request, who: Admin, change: Annotated[RedisChange, json_body(RedisChange)]
) -> RedisView:
    return await deps.services(request).configuration.switch_redis(change)
