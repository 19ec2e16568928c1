"""The runtime configuration as clients see and change it (``/api/config``, ``/api/config/redis``).

``GET /api/config`` shows the runtime settings (``runtime_config``) with the warm-up jobs
beside them (their times are the jobs'); a change stores the fields given and, when it
sets a retention, prunes at once. The live store's Redis is shown with its password
masked; a change is tried first, and a Redis that cannot be reached changes nothing.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

import msgspec
from msgspec import UNSET, Meta, UnsetType

from ccsync.clock import Clock
from ccsync.redaction import mask_url
from ccsync.server.errors import ConflictError, InvalidRequestError, UnprocessableError
from ccsync.server.retention import prune_expired
from ccsync.server.runtime_config import (
    RuntimeSettings,
    redis_url_of,
    retention_days_of,
    timezone_of,
    token_limit_of,
)
from ccsync.server.subscription import SETTING_PLAN, Plan, plan_of
from ccsync.settings import Settings
from ccsync.storage import StorageUnavailableError
from ccsync.storage.history.entries import EntryStore
from ccsync.storage.history.jobs import JobStore
from ccsync.storage.history.settings import SettingsStore
from ccsync.storage.history.telemetry import TelemetryStore
from ccsync.storage.live import open_live_store
from ccsync.storage.live.base import LiveStore
from ccsync.storage.live.switchable import SwitchableLiveStore
from ccsync.usage.timestamps import UnknownTimezoneError, resolve_timezone

Zone = Annotated[str, Meta(max_length=64)]


class WarmupView(msgspec.Struct, rename="camel"):
    """A warm-up job, as ``/api/config`` lists it (change it through ``/api/cron``)."""

    job_id: str
    name: str
    enabled: bool
    schedule: str
    timezone: str | None
    reset_at: list[str] | None
    start_at: list[str] | None


class ConfigView(msgspec.Struct, rename="camel"):
    timezone: str
    """IANA zone for reports and "today" (default UTC)."""
    plan_token_limit: int | None
    retention_days: int | None
    warmups: list[WarmupView]
    plan: Plan | None = None
    """The subscription (``pro``, ``max5x``, ``max20x``, ``custom``), for ``/api/limits``'s
    subscription view."""


class ConfigChange(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """Settings to change: the fields given (``null`` unsets one)."""

    timezone: Zone | UnsetType | None = UNSET
    """IANA zone for reports and "today" (default UTC)."""
    plan_token_limit: Annotated[int, Meta(ge=1, le=10**13)] | UnsetType | None = UNSET
    """Tokens per 5-hour window to measure against (default: the largest past block)."""
    retention_days: Annotated[int, Meta(ge=1, le=36500)] | UnsetType | None = UNSET
    """Delete history older than this many days (``null``: keep everything, the default)."""
    plan: Plan | UnsetType | None = UNSET
    """The subscription and its price (``null``: none)."""

    def __post_init__(self) -> None:
        if isinstance(self.timezone, str):
            try:
                resolve_timezone(self.timezone)
            except UnknownTimezoneError as exc:
                raise ValueError(str(exc)) from None


class RedisView(msgspec.Struct, rename="camel"):
    """The live store's backend; a Redis with its password masked."""

    backend: str
    url: str
    host: str | None
    port: int | None
    db: int | None
    password_set: bool
    connected: bool
    success: bool | UnsetType = UNSET
    """Set by a change: it took effect."""


class RedisChange(msgspec.Struct, forbid_unknown_fields=True):
    """A Redis to use for live data: a URL, or its parts."""

    url: Annotated[str, Meta(max_length=2048, pattern=r"^(redis|rediss|unix|memory)://")] | None = (
        None
    )
    host: Annotated[str, Meta(min_length=1, max_length=255)] | None = None
    port: Annotated[int, Meta(ge=1, le=65535)] | None = None
    password: Annotated[str, Meta(max_length=512)] | None = None
    db: Annotated[int, Meta(ge=0, le=10_000)] | None = None

    def to_url(self) -> str:
        if self.url:
            return self.url
        if not self.host:
            raise UnprocessableError("give a 'url', or at least a 'host'")
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port or 6379}/{self.db or 0}"


def describe_redis(url: str, connected: bool) -> RedisView:
    if url.startswith("memory://"):
        return RedisView("memory", "memory://", None, None, None, False, connected)
    parts = urlsplit(url)
    db = parts.path.strip("/") or "0"
    return RedisView(
        backend="redis",
        url=mask_url(url),
        host=parts.hostname,
        port=parts.port or 6379,
        db=int(db) if db.isdigit() else 0,
        password_set=bool(parts.password),
        connected=connected,
    )


class Configuration:
    def __init__(
        self,
        *,
        jobs: JobStore,
        entries: EntryStore,
        telemetry: TelemetryStore,
        settings_store: SettingsStore,
        live: LiveStore,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.jobs = jobs
        self.entries = entries
        self.telemetry = telemetry
        self.settings_store = settings_store
        self.runtime = RuntimeSettings(settings_store)
        self.live = live
        """The whole live store: ``switch_redis`` replaces its backend."""
        self.settings = settings
        self.clock = clock

    async def view(self) -> ConfigView:
        stored = await self.runtime.stored()
        jobs = await self.jobs.list_jobs()
        return ConfigView(
            timezone=timezone_of(stored),
            plan_token_limit=token_limit_of(stored),
            retention_days=retention_days_of(stored),
            plan=plan_of(stored.get(SETTING_PLAN)),
            warmups=[
                WarmupView(
                    job_id=job.id,
                    name=job.name,
                    enabled=job.enabled,
                    schedule=job.schedule,
                    timezone=job.timezone,
                    reset_at=job.options.get("resetAt"),
                    start_at=job.options.get("startAt"),
                )
                for job in jobs
                if job.kind == "warmup"
            ],
        )

    async def change(self, change: ConfigChange) -> ConfigView:
        """Store the settings ``change`` gives; a retention set prunes at once."""
        await self.runtime.change(
            timezone=change.timezone,
            token_limit=change.plan_token_limit,
            retention_days=change.retention_days,
        )
        if change.plan is not UNSET:
            plan = None if change.plan is None else msgspec.to_builtins(change.plan)
            await self.settings_store.put_settings({SETTING_PLAN: plan})
        if change.retention_days:
            await prune_expired(self.entries, self.telemetry, self.settings_store, self.clock)
        return await self.view()

    async def redis(self) -> RedisView:
        try:
            await self.live.ping()
            connected = True
        except StorageUnavailableError:
            connected = False
        url = redis_url_of(await self.runtime.stored()) or self.settings.live_url
        return describe_redis(url, connected)

    async def switch_redis(self, change: RedisChange) -> RedisView:
        """Move live data to the Redis ``change`` names, once it answers."""
        url = change.to_url()
        live = self.live
        if not isinstance(live, SwitchableLiveStore):
            raise ConflictError("this server's live store cannot be switched")
        try:
            candidate = open_live_store(
                url, self.settings.live_ttl, self.settings.redis_prefix, live.caps
            )
        except (ValueError, StorageUnavailableError) as exc:
            raise InvalidRequestError(f"cannot use {mask_url(url)}: {exc}") from None
        try:
            await candidate.ping()
        except StorageUnavailableError as exc:
            await candidate.aclose()
            raise InvalidRequestError(f"cannot connect, nothing changed: {exc}") from None
        await live.switch(candidate)
        await self.runtime.change(redis_url=url)
        view = describe_redis(url, connected=True)
        view.success = True
        return view
