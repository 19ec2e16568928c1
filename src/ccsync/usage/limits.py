"""An account's limits: how much of each window is used, across every device, and where
it is heading. The pure engine behind ``GET /api/limits``, alerts and the status line.

``estimate_limits(entries, readings, now_ms)`` gives one ``Limit`` per window:

- **Windows.** Always ``five_hour`` and ``seven_day``; ``seven_day_<family>`` for every
  family with a valid official reading of it, and for every family the caller lists
  (``families``: e.g. ``recent_families``, the families used in the last 7 days). Sorted
  ``five_hour``, ``seven_day``, then the scoped ones by name. Readings of other names are
  ignored.
- **Official.** The headline is the valid reading of the window observed last, over all
  devices and sources (two devices that disagree: the newer wins). A reading past its reset,
  or without one and older than the window's length, is never shown (``Reading.valid``).
- **Estimate** (``limit_estimates``): tokens of the window's span from the entries of every
  device (all four kinds), and a percentage at a tokens-per-percent ratio learned from
  official readings (or the plan limit). Spans: ``five_hour`` is the active 5-hour block
  (``blocks.identify_blocks`` over the last ``window.LOOKBACK_MS``, as ``/api/window``
  finds it); without one, the headline reading's window; else nothing running. The 7-day
  windows are ``[reset - 7 d, reset)`` for the headline reading's reset, else for the
  newest reset seen in the last 4 weeks carried forward by whole weeks (weekly limits
  reset at a fixed weekly time), else the rolling ``[now - 7 d, now)``. A 7-day span
  depends on the readings and the clock only, never on the entries, so its tokens are the
  sum of each device's.
- **Reset** (``Limit.resets_at_ms``): the headline reading's, else the estimate span's end;
  ``None`` for a rolling span (no reset known) or when nothing is running.
- **Used now** (``Projection.percent_now``): the headline's percentage plus the estimated
  growth since it was read (tokens after its observed time, at the learned ratio), else the
  estimate's percentage. Pace and projection use it: a reading of an hour ago is not stale.
- **Pace**: used now against elapsed time, both in % of the window ``[reset - length,
  reset)``. ``ahead`` (using faster than time passes: the limit comes before the reset)
  when used exceeds elapsed by more than ``max(5 points, 10 % of elapsed)``, ``behind``
  (some of the window will go unused) when it falls short by as much, else ``on_track``.
  The band keeps the first minutes of a window, where every ratio is large, from alarming.
- **Projection**: at the window's average rate so far (used now / elapsed time; steadier
  than the burn of the last minutes, and the same rate the pace compares), the percentage at
  the reset and the instant 100 % is reached if that is before the reset (a past instant
  when it is already reached).
- **Binding**: exactly one limit is binding. Of those with a used percentage, the highest
  (it is the one that stops work first); ties go to the one resetting later (it holds longer),
  then to the first in order. With no percentage anywhere, ``five_hour``: the window every
  plan has and the one that runs out first in practice.

Never raises on odd data: zero-length or future windows, readings at 0 % or in the future
of ``now_ms``, readings without a reset; percentages are clamped at 0. No clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

from ccsync.usage.blocks import identify_blocks
from ccsync.usage.entry import time_order
from ccsync.usage.limit_estimates import (
    LEARN_FLOOR_PERCENT,
    LEARN_HORIZON_MS,
    LEARN_SAMPLES,
    ROLLING,
    Estimate,
    TokenSeries,
    block_finder,
    entries_since,
    estimate,
    five_hour_span,
    learn,
    plan_limit_of,
    ratio,
    seven_day_span,
    token_series,
)
from ccsync.usage.limit_windows import (
    FIVE_HOUR,
    SEVEN_DAY,
    SEVEN_DAY_MODEL,
    WINDOW_MS,
    Reading,
    clamp_percent,
    family_names,
    family_of,
    headline,
    scoped_window,
    window_kind,
    window_ms,
)
from ccsync.usage.reports import PricedEntry
from ccsync.usage.window import LOOKBACK_MS

__all__ = [
    "LEARN_FLOOR_PERCENT",
    "LEARN_HORIZON_MS",
    "LEARN_SAMPLES",
    "WINDOW_MS",
    "Estimate",
    "Limit",
    "Pace",
    "Projection",
    "Reading",
    "entries_since",
    "estimate_limits",
    "family_of",
    "recent_families",
    "window_kind",
    "window_ms",
]

AHEAD = "ahead"
ON_TRACK = "on_track"
BEHIND = "behind"
PACE_BAND_POINTS = 5.0
PACE_BAND_SHARE = 0.10


@dataclass(frozen=True, slots=True)
class Pace:
    used_percent: float
    """Used now (the headline plus the growth since it, or the estimate)."""
    elapsed_percent: float
    """How much of the window has passed, 0-100."""
    ratio: float | None
    """``used_percent / elapsed_percent``; ``None`` at the window's very start."""
    status: str
    """``ahead``, ``on_track`` or ``behind``."""


@dataclass(frozen=True, slots=True)
class Projection:
    percent_at_reset: float | None
    """Where the window ends up at its average rate so far; ``None`` before any time passed."""
    exhausted_at_ms: int | None
    """When 100 % is reached at that rate, if before the reset (past: already reached)."""
    percent_now: float = 0.0
    """The percentage projected from: the headline plus the growth since, or the estimate."""


@dataclass(frozen=True, slots=True)
class Limit:
    window: str
    """``five_hour``, ``seven_day``, ``seven_day_<family>``."""
    kind: str
    """``five_hour``, ``seven_day`` or ``seven_day_model``."""
    model: str | None
    """The family of a ``seven_day_model`` window (``opus``)."""
    resets_at_ms: int | None
    official: Reading | None
    estimate: Estimate
    pace: Pace | None
    projection: Projection | None
    binding: bool

    @property
    def used_percent(self) -> float | None:
        """The headline reading's percentage, else the estimate's."""
        if self.official is not None:
            return self.official.percent
        return self.estimate.percent


def recent_families(entries: Iterable[PricedEntry], now_ms: int) -> list[str]:
    """The model families used in the 7 days up to ``now_ms``: the scoped windows worth
    showing even before an official reading of them."""
    since = now_ms - WINDOW_MS[SEVEN_DAY]
    found = {
        family_of(item.entry.model)
        for item in entries
        if since <= item.entry.timestamp_ms <= now_ms
    }
    return sorted(family for family in found if family is not None)


def estimate_limits(
    account_entries: Sequence[PricedEntry],
    readings: Sequence[Reading],
    now_ms: int,
    *,
    plan_limits: Mapping[str, int] | None = None,
    families: Iterable[str] = (),
    history_start_ms: int | None = None,
) -> list[Limit]:
    """The account's limits at ``now_ms``.

    ``account_entries``: deduplicated, priced entries of every device, in time order (from
    ``entries_since(now_ms)`` on, for learning). ``readings``: official readings of any age.
    ``plan_limits``: tokens at 100 % per window name (the user's setting), the ratio where
    none is learned. ``history_start_ms``: entries before it may be missing (readings of
    windows reaching back before it are not learned from).
    """
    entries = _in_time_order(account_entries)
    readings = list(readings)
    wanted = family_names(families)
    for reading in readings:
        kind, family = window_kind(reading.window)
        if kind == SEVEN_DAY_MODEL and family is not None and reading.valid(now_ms):
            wanted.add(family)
    series = token_series(entries, wanted)
    blocks = identify_blocks(series[None].since(now_ms - LOOKBACK_MS), now_ms)
    active = next((b for b in reversed(blocks) if b.is_active), None)
    needs_all_blocks = any(r.window == FIVE_HOUR and r.resets_at_ms is None for r in readings)
    block_start = block_finder(identify_blocks(entries, now_ms) if needs_all_blocks else blocks)

    limits: list[Limit] = []
    for window in [FIVE_HOUR, SEVEN_DAY, *(scoped_window(f) for f in sorted(wanted))]:
        kind, family = window_kind(window)
        scope = series[family]
        official = headline(readings, window, now_ms)
        samples = learn(window, readings, scope, now_ms, block_start, history_start_ms)
        found = ratio(samples, plan_limit_of(plan_limits, window))
        if window == FIVE_HOUR:
            found_estimate = estimate(
                five_hour_span(active, official, now_ms), scope, found, active
            )
        else:
            span = seven_day_span(window, official, readings, now_ms)
            found_estimate = estimate(span, scope, found)
        resets = _resets_at(official, found_estimate)
        limit = Limit(window, kind, family, resets, official, found_estimate, None, None, False)
        pace, projection = _outlook(limit, scope, now_ms)
        limits.append(replace(limit, pace=pace, projection=projection))
    chosen = _binding(limits)
    return [replace(limit, binding=index == chosen) for index, limit in enumerate(limits)]


def _in_time_order(entries: Sequence[PricedEntry]) -> Sequence[PricedEntry]:
    times = [item.entry.timestamp_ms for item in entries]
    if all(a <= b for a, b in pairwise(times)):
        return entries
    return sorted(entries, key=lambda item: time_order(item.entry))


def _resets_at(official: Reading | None, found: Estimate) -> int | None:
    if official is not None and official.resets_at_ms is not None:
        return official.resets_at_ms
    if found.end_ms > found.start_ms and found.span != ROLLING:
        return found.end_ms
    return None


def used_now(limit: Limit, scope: TokenSeries, now_ms: int) -> float | None:
    """The headline's percentage plus the growth since it was read (at the learned ratio),
    else the estimate's percentage."""
    official, per = limit.official, limit.estimate.tokens_per_percent
    if official is None:
        return limit.estimate.percent
    growth = 0.0
    if per is not None and official.observed_ms < now_ms:
        since = official.observed_ms + 1
        length = window_ms(limit.window)
        if limit.resets_at_ms is not None and length is not None:
            since = max(since, limit.resets_at_ms - length)  # within the window only
        growth = scope.tokens(since, now_ms + 1) / per
    return clamp_percent(official.percent + growth)


def _outlook(
    limit: Limit, scope: TokenSeries, now_ms: int
) -> tuple[Pace | None, Projection | None]:
    length = window_ms(limit.window)
    used = used_now(limit, scope, now_ms)
    if limit.resets_at_ms is None or length is None or used is None:
        return None, None
    end = limit.resets_at_ms
    start = end - length
    elapsed_ms = min(max(now_ms - start, 0), length)
    elapsed = elapsed_ms / length * 100
    return pace(used, elapsed), project(used, start, end, now_ms)


def pace(used: float, elapsed: float) -> Pace:
    """``used`` against ``elapsed`` (both in % of the window)."""
    band = max(PACE_BAND_POINTS, PACE_BAND_SHARE * elapsed)
    status = AHEAD if used > elapsed + band else BEHIND if used < elapsed - band else ON_TRACK
    return Pace(used, elapsed, used / elapsed if elapsed > 0 else None, status)


def project(used: float, start_ms: int, end_ms: int, now_ms: int) -> Projection:
    """Where ``used`` (% at ``now_ms``) ends up at the reset ``end_ms`` at its average rate
    since ``start_ms``, and when it reaches 100 % (if before the reset)."""
    elapsed = min(now_ms, end_ms) - start_ms
    if elapsed <= 0:
        return Projection(None, now_ms if used >= 100 else None, used)
    rate = used / elapsed  # percent per millisecond
    at_reset = used + rate * max(end_ms - now_ms, 0)
    exhausted = None
    if rate > 0:
        instant = start_ms + 100 / rate
        if instant < end_ms:
            exhausted = round(instant)
    return Projection(at_reset, exhausted, used)


def _binding(limits: Sequence[Limit]) -> int:
    """The index of the binding limit (see the module's docstring)."""
    best: tuple[float, int, int] | None = None
    for index, limit in enumerate(limits):
        used = limit.used_percent
        if used is None:
            continue
        key = (used, -1 if limit.resets_at_ms is None else limit.resets_at_ms, -index)
        if best is None or key > best:
            best = key
    if best is None:
        return next((i for i, limit in enumerate(limits) if limit.window == FIVE_HOUR), 0)
    return -best[2]
