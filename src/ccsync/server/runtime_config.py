"""Runtime settings: what the operator changes while the server runs, kept in the history database.

The one home of their names and defaults. Every reader asks here, so "the default time zone
is UTC" is decided once:

=================== ===================== ==========================================================
setting             name in the database  when unset
=================== ===================== ==========================================================
time zone           ``timezone``          ``UTC``: reports, "today", jobs without their own zone
plan token limit    ``planTokenLimit``    the largest past block (ccusage's ``-t max``)
retention           ``retentionDays``     keep everything
live store's Redis  ``redis.url``         the configured live store (a flag or env wins over it)
=================== ===================== ==========================================================

``server.configuration`` shows and changes them for ``/api/config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from msgspec import UNSET, UnsetType

from ccsync.storage.history.settings import SettingsStore

SETTING_TIMEZONE: Final = "timezone"
SETTING_TOKEN_LIMIT: Final = "planTokenLimit"
SETTING_RETENTION: Final = "retentionDays"
SETTING_REDIS_URL: Final = "redis.url"
DEFAULT_TIMEZONE: Final = "UTC"


def timezone_of(stored: Mapping[str, Any]) -> str:
    """The configured IANA zone among ``stored`` settings, else ``DEFAULT_TIMEZONE``."""
    zone = stored.get(SETTING_TIMEZONE)
    return zone if isinstance(zone, str) and zone else DEFAULT_TIMEZONE


def token_limit_of(stored: Mapping[str, Any]) -> int | None:
    """Tokens per 5-hour window to measure against, when set."""
    return _positive(stored.get(SETTING_TOKEN_LIMIT))


def retention_days_of(stored: Mapping[str, Any]) -> int | None:
    """Days of history to keep, when set (``None``: everything)."""
    return _positive(stored.get(SETTING_RETENTION))


def redis_url_of(stored: Mapping[str, Any]) -> str | None:
    """The Redis chosen at runtime (``PUT /api/config/redis``), when one was."""
    url = stored.get(SETTING_REDIS_URL)
    return url if isinstance(url, str) and url else None


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class RuntimeSettings:
    """The runtime settings of one history store (each read is one query)."""

    def __init__(self, store: SettingsStore) -> None:
        self.store = store

    async def stored(self) -> dict[str, Any]:
        """Every stored setting, as the database holds them."""
        return await self.store.get_settings()

    async def timezone(self) -> str:
        return timezone_of(await self.stored())

    async def token_limit(self) -> int | None:
        return token_limit_of(await self.stored())

    async def retention_days(self) -> int | None:
        return retention_days_of(await self.stored())

    async def redis_url(self) -> str | None:
        return redis_url_of(await self.stored())

    async def change(
        self,
        *,
        timezone: str | UnsetType | None = UNSET,
        token_limit: int | UnsetType | None = UNSET,
        retention_days: int | UnsetType | None = UNSET,
        redis_url: str | UnsetType | None = UNSET,
    ) -> None:
        """Store the settings given (``None`` unsets one; ``UNSET`` leaves it as it is)."""
        given = {
            SETTING_TIMEZONE: timezone,
            SETTING_TOKEN_LIMIT: token_limit,
            SETTING_RETENTION: retention_days,
            SETTING_REDIS_URL: redis_url,
        }
        await self.store.put_settings(
            {name: value for name, value in given.items() if value is not UNSET}
        )
