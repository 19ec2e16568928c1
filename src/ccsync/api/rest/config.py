"""Runtime settings (``/api/config``) and the live store's Redis connection (``/api/config/redis``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ccsync.api import deps
from ccsync.api.deps import Admin, Reader
from ccsync.api.errors import ApiError
from ccsync.redaction import mask_url
from ccsync.server.reporting import SETTING_TIMEZONE, SETTING_TOKEN_LIMIT
from ccsync.server.retention import SETTING_RETENTION, prune_expired
from ccsync.services import REDIS_URL_SETTING
from ccsync.storage import StorageUnavailableError
from ccsync.storage.live import open_live_store
from ccsync.storage.live.switchable import SwitchableLiveStore
from ccsync.usage.timestamps import UnknownTimezoneError, resolve_timezone

router = APIRouter(tags=["configuration"])


class RuntimeConfig(BaseModel):
    """Settings that change while the server runs (stored in the history database)."""

    model_config = ConfigDict(extra="forbid")

    timezone: Annotated[str, Field(max_length=64)] | None = None
    """IANA zone for reports and "today" (default UTC)."""
    planTokenLimit: Annotated[int, Field(ge=1, le=10**13)] | None = None  # noqa: N815 (JSON name)
    """Tokens per 5-hour window to measure against (default: the largest past block)."""
    retentionDays: Annotated[int, Field(ge=1, le=36_500)] | None = None  # noqa: N815
    """Delete history older than this many days (``null``: keep everything, the default)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                resolve_timezone(value)
            except UnknownTimezoneError as exc:
                raise ValueError(str(exc)) from None
        return value


class RedisConfig(BaseModel):
    """A Redis to use for live data: a URL, or its parts."""

    model_config = ConfigDict(extra="forbid")

    url: (
        Annotated[str, Field(max_length=2048, pattern=r"^(redis|rediss|unix|memory)://")] | None
    ) = None
    host: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    password: Annotated[str, Field(max_length=512)] | None = None
    db: Annotated[int, Field(ge=0, le=10_000)] | None = None

    def to_url(self) -> str:
        if self.url:
            return self.url
        if not self.host:
            raise ApiError(422, "give a 'url', or at least a 'host'")
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port or 6379}/{self.db or 0}"


async def _config(request: Request) -> dict[str, Any]:
    stored = await deps.services(request).history.get_settings()
    jobs = await deps.services(request).history.jobs.list_jobs()
    return {
        "timezone": stored.get(SETTING_TIMEZONE) or "UTC",
        "planTokenLimit": stored.get(SETTING_TOKEN_LIMIT),
        "retentionDays": stored.get(SETTING_RETENTION),
        "warmups": [
            {
                "jobId": job.id,
                "name": job.name,
                "enabled": job.enabled,
                "schedule": job.schedule,
                "timezone": job.timezone,
                "resetAt": job.options.get("resetAt"),
                "startAt": job.options.get("startAt"),
            }
            for job in jobs
            if job.kind == "warmup"
        ],
    }


@router.get("/api/config", summary="Runtime settings")
async def get_config(request: Request, who: Reader) -> dict[str, Any]:
    return await _config(request)


@router.put(
    "/api/config",
    summary="Change runtime settings (the fields given; warm-up times are warm-up jobs)",
)
async def put_config(request: Request, who: Admin, change: RuntimeConfig) -> dict[str, Any]:
    values = change.model_dump(exclude_unset=True)
    mapping = {
        "timezone": SETTING_TIMEZONE,
        "planTokenLimit": SETTING_TOKEN_LIMIT,
        "retentionDays": SETTING_RETENTION,
    }
    services = deps.services(request)
    await services.history.put_settings({mapping[k]: v for k, v in values.items()})
    if values.get("retentionDays"):
        await prune_expired(services.history, services.clock)
    return await _config(request)


def _describe(url: str) -> dict[str, Any]:
    if url.startswith("memory://"):
        return {
            "backend": "memory",
            "url": "memory://",
            "host": None,
            "port": None,
            "db": None,
            "passwordSet": False,
        }
    parts = urlsplit(url)
    db = parts.path.strip("/") or "0"
    return {
        "backend": "redis",
        "url": mask_url(url),
        "host": parts.hostname,
        "port": parts.port or 6379,
        "db": int(db) if db.isdigit() else 0,
        "passwordSet": bool(parts.password),
    }


async def _current_url(request: Request) -> str:
    services = deps.services(request)
    stored = (await services.history.get_settings()).get(REDIS_URL_SETTING)
    return stored if isinstance(stored, str) else services.settings.live_url


@router.get("/api/config/redis", summary="The live store's Redis (password masked)")
async def get_redis(request: Request, who: Admin) -> dict[str, Any]:
    services = deps.services(request)
    try:
        await services.live.ping()
        connected = True
    except StorageUnavailableError:
        connected = False
    return {**_describe(await _current_url(request)), "connected": connected}


@router.put(
    "/api/config/redis",
    summary="Use another Redis (checked first: if it cannot connect, nothing changes)",
)
async def put_redis(request: Request, who: Admin, change: RedisConfig) -> dict[str, Any]:
    services = deps.services(request)
    url = change.to_url()
    live = services.live
    if not isinstance(live, SwitchableLiveStore):
        raise ApiError(409, "this server's live store cannot be switched")
    try:
        candidate = open_live_store(
            url, services.settings.live_ttl, services.settings.redis_prefix, live.caps
        )
    except (ValueError, StorageUnavailableError) as exc:
        raise ApiError(400, f"cannot use {mask_url(url)}: {exc}") from None
    try:
        await candidate.ping()
    except StorageUnavailableError as exc:
        await candidate.aclose()
        raise ApiError(400, f"cannot connect, nothing changed: {exc}") from None
    await live.switch(candidate)
    await services.history.put_settings({REDIS_URL_SETTING: url})
    return {**_describe(url), "connected": True, "success": True}
