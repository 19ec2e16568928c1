"""The shapes of the server-owned live values the server reads back, checked on every read.

A live value is only as good as whatever last wrote it: an older server version, another
replica, or anything with access to Redis. So the server never trusts one: each is
converted to its shape here, and a value that does not fit reads as missing (logged once
per key), never as a 5xx.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, TypeVar

import msgspec

from ccsync.server.live_keys import device_key
from ccsync.usage.window import OfficialLimit
from ccsync.wire import MAX_EPOCH_MS

log = logging.getLogger("ccsync.live")

EpochMs = Annotated[int, msgspec.Meta(ge=0, le=MAX_EPOCH_MS)]
MAX_REPORTED = 1_000

T = TypeVar("T")


class LiveDevice(msgspec.Struct, rename="camel"):
    """What the server reads of a device's live state (``live_keys.device_key``)."""

    device_id: str
    online: bool


class OfficialReading(msgspec.Struct, rename="camel", omit_defaults=True):
    """One official reading of ``live_keys.official_limits_key``, by window (``fiveHour``,
    ``sevenDay``, ``sevenDayOpus``…)."""

    used_percentage: Annotated[float, msgspec.Meta(ge=0, le=1000)]
    resets_at_ms: EpochMs | None
    device_id: str
    reported_ms: EpochMs
    """When the server received it."""
    source: str | None = None
    """``statusline``, ``transcript``… (``None``: stored before readings said so, which only
    the status line sent)."""
    observed_ms: EpochMs | None = None
    """When the device saw it (``None``: stored before readings said so; then
    ``reported_ms``)."""

    def observed(self) -> int:
        return self.reported_ms if self.observed_ms is None else self.observed_ms

    def expired(self, now_ms: int) -> bool:
        """Its window has reset since: the reading says nothing any more."""
        return self.resets_at_ms is not None and self.resets_at_ms <= now_ms

    def to_limit(self) -> OfficialLimit:
        return OfficialLimit(
            used_percentage=self.used_percentage,
            resets_at_ms=self.resets_at_ms,
            device_id=self.device_id,
            reported_ms=self.reported_ms,
            source=self.source or "statusline",
            observed_ms=self.observed(),
        )


def official_name(window: str) -> str:
    """A window's key in the official readings: Claude Code's name in camel case
    (``five_hour`` → ``fiveHour``, ``seven_day_opus`` → ``sevenDayOpus``)."""
    first, *rest = window.split("_")
    return first + "".join(part.capitalize() for part in rest)


_reported: set[str] = set()


def _report(key: str, error: Exception) -> None:
    """Log a value that does not fit its shape, once per key (the set is bounded)."""
    if key in _reported:
        return
    if len(_reported) >= MAX_REPORTED:
        _reported.clear()
    _reported.add(key)
    log.warning("live.invalid_value", extra={"key": key[:200], "error": str(error)[:200]})


def convert(key: str, value: Any, shape: type[T]) -> T | None:
    """``value`` (read at ``key``) as ``shape``; ``None`` when missing or not that shape."""
    if value is None:
        return None
    try:
        return msgspec.convert(value, shape)
    except msgspec.ValidationError as exc:
        _report(key, exc)
        return None


def device_state(key: str, value: Any) -> LiveDevice | None:
    """The device state stored at ``key``: ``None`` unless it is one, and that device's."""
    state = convert(key, value, LiveDevice)
    return state if state is not None and device_key(state.device_id) == key else None


def official_readings(key: str, value: Any) -> dict[str, OfficialReading]:
    """The readings stored at ``key`` (by name: ``fiveHour``, ``sevenDay``); any reading
    that does not fit is left out (and reported)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        _report(key, TypeError(f"expected an object, got {type(value).__name__}"))
        return {}
    readings = {}
    for name, reading in value.items():
        checked = convert(f"{key}.{name}", reading, OfficialReading)
        if checked is not None:
            readings[name] = checked
    return readings
