"""The windows of Claude's subscription limits, the model families they can be scoped to,
and the official readings of them.

Claude names its windows ``five_hour`` (the session window), ``seven_day`` (the weekly
one) and ``seven_day_<family>`` (weekly, counting one model family: ``seven_day_opus``).
A reading is what Claude Code itself showed of one window at one instant; it says nothing
once its window has reset. Pure: no clock (``now_ms`` is a parameter), no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ccsync.usage.timestamps import MS_PER_DAY, MS_PER_HOUR

FIVE_HOUR = "five_hour"
SEVEN_DAY = "seven_day"
SEVEN_DAY_MODEL = "seven_day_model"
"""The kind of the 7-day windows scoped to a model family."""

WINDOW_MS: dict[str, int] = {FIVE_HOUR: 5 * MS_PER_HOUR, SEVEN_DAY: 7 * MS_PER_DAY}
"""Each window's length; the scoped 7-day windows (``seven_day_<family>``) last 7 days too."""

_FAMILY = r"[a-z0-9]+(?:_[a-z0-9]+){0,3}"
_SCOPED = re.compile(rf"seven_day_({_FAMILY})", re.ASCII)
_FAMILY_NAME = re.compile(_FAMILY, re.ASCII)
_WORD = re.compile(r"[a-z0-9]+", re.ASCII)


def window_kind(name: str) -> tuple[str, str | None]:
    """``(kind, family)`` of a window's name: ``("five_hour", None)``, ``("seven_day",
    None)``, ``("seven_day_model", "opus")`` for ``seven_day_opus``. Any other name is no
    usage window and comes back as ``(name, None)``."""
    if name in WINDOW_MS:
        return name, None
    scoped = _SCOPED.fullmatch(name)
    if scoped is None:
        return name, None
    return SEVEN_DAY_MODEL, scoped.group(1)


def window_ms(name: str) -> int | None:
    """The length of a window by its name; ``None`` for a name that is no usage window."""
    kind, _ = window_kind(name)
    return WINDOW_MS[SEVEN_DAY] if kind == SEVEN_DAY_MODEL else WINDOW_MS.get(kind)


def scoped_window(family: str) -> str:
    """The 7-day window of a model family: ``opus`` → ``seven_day_opus``."""
    return f"{SEVEN_DAY}_{family}"


def family_of(model: str | None) -> str | None:
    """The model family of a model name: the first alphabetic word after ``claude``,
    lowercased. ``claude-opus-4-5-20251101`` → ``opus``, ``claude-3-5-sonnet-20241022`` →
    ``sonnet``, ``anthropic.claude-haiku-4-5…`` → ``haiku``. ``None`` for names without the
    word ``claude`` (``<synthetic>``, other vendors' models) and for ``None``."""
    if model is None:
        return None
    words = _WORD.findall(model.lower())
    try:
        after = words.index("claude") + 1
    except ValueError:
        return None
    return next((w for w in words[after:] if w.isalpha() and w != "claude"), None)


def family_names(families: Iterable[str]) -> set[str]:
    """The family names among ``families`` that can name a window (lowercased)."""
    names = (name.lower() for name in families if isinstance(name, str))
    return {name for name in names if _FAMILY_NAME.fullmatch(name)}


def clamp_percent(value: float) -> float:
    """A percentage as shown: never below 0 (nor NaN, nor infinite)."""
    return value if math.isfinite(value) and value > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Reading:
    """One official reading of one window (validated upstream, by ingest)."""

    window: str
    """``five_hour``, ``seven_day`` or ``seven_day_<family>``."""
    used_percentage: float
    resets_at_ms: int | None
    source: str
    """``statusline``, ``transcript``, ``warmup``, ``usage_cache``, ``usage_api``…"""
    device_id: str
    observed_ms: int
    """When the device saw it."""

    def valid(self, now_ms: int) -> bool:
        """Whether the reading still describes its window at ``now_ms``: its reset is ahead,
        or (without a reset) it was observed less than a window length ago. A reading past
        its reset is never shown."""
        if self.resets_at_ms is not None:
            return self.resets_at_ms > now_ms
        length = window_ms(self.window)
        return length is not None and now_ms - self.observed_ms < length

    @property
    def percent(self) -> float:
        """``used_percentage``, clamped at 0."""
        return clamp_percent(self.used_percentage)


def _newest_key(reading: Reading) -> tuple[int, int, float, str, str]:
    # Ties of observed_ms are broken by every other field, so that the order of the
    # readings never changes which one wins.
    reset = -1 if reading.resets_at_ms is None else reading.resets_at_ms
    return reading.observed_ms, reset, reading.percent, reading.source, reading.device_id


def headline(readings: Iterable[Reading], window: str, now_ms: int) -> Reading | None:
    """The reading a window shows: the one observed last among its valid readings, from
    any device and source (two devices that disagree: the newer one wins)."""
    shown = [r for r in readings if r.window == window and r.valid(now_ms)]
    return max(shown, key=_newest_key, default=None)


def newest(readings: Iterable[Reading]) -> Reading | None:
    """The reading observed last (ties as in ``headline``)."""
    return max(readings, key=_newest_key, default=None)
