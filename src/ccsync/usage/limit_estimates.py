"""Estimates of a limit window from transcripts: its span, its tokens, and a percentage
learned from official readings.

**Tokens** are the four kinds together (``UsageEntry.total_tokens``, as the reports count
them) of the entries in the window's span ``[start_ms, end_ms)``; a scoped window
(``seven_day_opus``) counts the entries of its model family only (``family_of``).

**Learning.** Claude does not say how many tokens a percent is; the official readings do,
indirectly. Every reading of a window (valid or already reset) observed in the last
``LEARN_HORIZON_MS`` at ``LEARN_FLOOR_PERCENT`` or more is a sample: the tokens of its
window up to its observed time, divided by its percentage. Its window is
``[resets_at - length, observed]``; without a reset, the 5-hour block it fell in, or the 7
days before it. Of the readings of one window instance (one reset) only the highest
percentage is a sample: it is the most precise (percentages are rounded) and the others
of that instance say the same. The ratio is the median of the newest ``LEARN_SAMPLES``
samples, per window name: the weekly and the Opus-only limits differ. ``spread`` is
(max - min) / median of them, a measure of agreement. Without a sample, the plan limit
(tokens at 100 %) the user set for the window; without one, no percentage.

Samples of windows that started before ``history_start_ms`` (when the caller knows its
entries are incomplete before it) are not learned from: their tokens would be too few.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate

from ccsync.usage.blocks import Block
from ccsync.usage.limit_windows import (
    FIVE_HOUR,
    SEVEN_DAY,
    WINDOW_MS,
    Reading,
    clamp_percent,
    family_of,
    newest,
    window_kind,
    window_ms,
)
from ccsync.usage.reports import PricedEntry
from ccsync.usage.timestamps import MS_PER_DAY

WINDOW_7D = WINDOW_MS[SEVEN_DAY]

LEARN_HORIZON_MS = 28 * MS_PER_DAY
"""How old a reading may be to be learned from."""
LEARN_FLOOR_PERCENT = 5.0
"""Readings below this are not learned from: a rounded 1 % is anything from 0.5 to 1.5."""
LEARN_SAMPLES = 5
"""How many of the newest samples the ratio is the median of."""

BLOCK = "block"
OFFICIAL = "official"
CARRIED = "carried"
ROLLING = "rolling"
IDLE = "idle"


def entries_since(now_ms: int) -> int:
    """From when a caller should pass entries: learning reads the windows of readings up to
    ``LEARN_HORIZON_MS`` old, and a window reaches 7 days further back."""
    return now_ms - LEARN_HORIZON_MS - WINDOW_7D


@dataclass(frozen=True, slots=True)
class Estimate:
    """A window as the transcripts of every device see it."""

    tokens: int
    cost_usd: float
    percent: float | None
    """``tokens / tokens_per_percent``, at least 0; ``None`` when no ratio is known."""
    basis: str
    """How the percentage was found: ``learned from 3 official readings``, ``plan limit
    (setting)``, ``no official reading to learn from yet``."""
    start_ms: int
    end_ms: int
    """The span counted: ``[start_ms, end_ms)`` (see ``span``)."""
    samples: int = 0
    """How many official readings the ratio was learned from (0: not learned)."""
    tokens_per_percent: float | None = None
    spread: float | None = None
    """(max - min) / median of the samples' ratios; ``None`` below two samples."""
    span: str = ROLLING
    """Where the span comes from: ``block`` (the active 5-hour block), ``official`` (the
    headline reading's reset), ``carried`` (a past reset carried forward by whole weeks),
    ``rolling`` (the last 7 days up to now: no reset known), ``idle`` (no 5-hour window is
    running: empty at now)."""


@dataclass(frozen=True, slots=True)
class Span:
    start_ms: int
    end_ms: int
    kind: str


@dataclass(frozen=True, slots=True)
class Ratio:
    tokens_per_percent: float | None
    samples: int
    spread: float | None
    basis: str


class TokenSeries:
    """One scope's entries in time order, with running token totals for fast sums."""

    __slots__ = ("items", "times", "totals")

    def __init__(self, items: Sequence[PricedEntry]) -> None:
        self.items = items
        self.times = [item.entry.timestamp_ms for item in items]
        self.totals = [0, *accumulate(item.entry.total_tokens for item in items)]

    def _slice(self, start_ms: int, end_ms: int) -> tuple[int, int]:
        low = bisect_left(self.times, start_ms)
        return low, max(low, bisect_left(self.times, end_ms))

    def tokens(self, start_ms: int, end_ms: int) -> int:
        """Tokens of the entries in ``[start_ms, end_ms)``."""
        low, high = self._slice(start_ms, end_ms)
        return self.totals[high] - self.totals[low]

    def cost(self, start_ms: int, end_ms: int) -> float:
        low, high = self._slice(start_ms, end_ms)
        return math.fsum(item.cost for item in self.items[low:high])

    def since(self, start_ms: int) -> Sequence[PricedEntry]:
        """The entries from ``start_ms`` on."""
        return self.items[bisect_left(self.times, start_ms) :]


def token_series(
    entries: Sequence[PricedEntry], families: Iterable[str]
) -> dict[str | None, TokenSeries]:
    """The series of all entries (key ``None``) and of each of ``families``; ``entries`` in
    time order."""
    scoped: dict[str, list[PricedEntry]] = {family: [] for family in families}
    if scoped:
        models = {item.entry.model for item in entries}
        buckets = {model: scoped.get(family_of(model) or "") for model in models}
        for item in entries:
            bucket = buckets[item.entry.model]
            if bucket is not None:
                bucket.append(item)
    series: dict[str | None, TokenSeries] = {None: TokenSeries(entries)}
    series.update((family, TokenSeries(items)) for family, items in scoped.items())
    return series


def learn(
    window: str,
    readings: Iterable[Reading],
    series: TokenSeries,
    now_ms: int,
    block_start: Callable[[int], int | None],
    history_start_ms: int | None = None,
) -> list[tuple[int, float]]:
    """The samples ``(observed_ms, tokens per percent)`` of ``window``'s readings, newest
    first. ``block_start`` finds the 5-hour block an instant fell in (readings without a
    reset)."""
    length = window_ms(window)
    if length is None:
        return []
    best: dict[tuple[bool, int], Reading] = {}
    for reading in readings:
        if (
            reading.window != window
            or reading.observed_ms < now_ms - LEARN_HORIZON_MS
            or not reading.percent >= LEARN_FLOOR_PERCENT
        ):
            continue
        reset = reading.resets_at_ms
        instance = (True, reset) if reset is not None else (False, reading.observed_ms)
        held = best.get(instance)
        if held is None or (reading.percent, reading.observed_ms) > (
            held.percent,
            held.observed_ms,
        ):
            best[instance] = reading
    samples: list[tuple[int, float]] = []
    for reading in best.values():
        start = _reading_start(reading, length, block_start)
        if start is None or (history_start_ms is not None and start < history_start_ms):
            continue
        tokens = series.tokens(start, reading.observed_ms + 1)
        ratio = tokens / reading.percent
        if tokens > 0 and math.isfinite(ratio):
            samples.append((reading.observed_ms, ratio))
    samples.sort(reverse=True)
    return samples


def _reading_start(
    reading: Reading, length: int, block_start: Callable[[int], int | None]
) -> int | None:
    if reading.resets_at_ms is not None:
        return reading.resets_at_ms - length
    if reading.window == FIVE_HOUR:
        return block_start(reading.observed_ms)
    return reading.observed_ms - length


def block_finder(blocks: Sequence[Block]) -> Callable[[int], int | None]:
    """``block_start`` for ``learn``: the start of the (non-gap) block an instant fell in."""
    real = [block for block in blocks if not block.is_gap]
    starts = [block.start_ms for block in real]

    def find(instant_ms: int) -> int | None:
        index = bisect_left(starts, instant_ms + 1) - 1
        if index >= 0 and instant_ms < real[index].end_ms:
            return real[index].start_ms
        return None

    return find


def ratio(samples: Sequence[tuple[int, float]], plan_limit: int | None) -> Ratio:
    """Tokens per percent from the newest samples, else from the plan limit."""
    used = [value for _, value in samples[:LEARN_SAMPLES]]
    if used:
        middle = statistics.median(used)
        spread = (max(used) - min(used)) / middle if len(used) > 1 else None
        plural = "s" if len(used) > 1 else ""
        return Ratio(
            middle, len(used), spread, f"learned from {len(used)} official reading{plural}"
        )
    if plan_limit is not None and plan_limit > 0:
        return Ratio(plan_limit / 100, 0, None, "plan limit (setting)")
    return Ratio(None, 0, None, "no official reading to learn from yet")


def plan_limit_of(plan_limits: Mapping[str, int] | None, window: str) -> int | None:
    value = (plan_limits or {}).get(window)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def five_hour_span(active: Block | None, official: Reading | None, now_ms: int) -> Span:
    """The active block; without one, the window the headline reading's reset gives; else
    nothing running (an empty span at ``now_ms``)."""
    if active is not None:
        return Span(active.start_ms, active.end_ms, BLOCK)
    if official is not None and official.resets_at_ms is not None:
        reset = official.resets_at_ms
        return Span(reset - WINDOW_MS[FIVE_HOUR], reset, OFFICIAL)
    return Span(now_ms, now_ms, IDLE)


def seven_day_span(
    window: str, official: Reading | None, readings: Sequence[Reading], now_ms: int
) -> Span:
    """The headline reading's reset; else the newest reset of a reading of the window (of
    ``seven_day`` for a scoped window without one) in the last ``LEARN_HORIZON_MS``,
    carried forward by whole weeks (Claude's weekly limits reset at a fixed weekly time);
    else the last 7 days up to ``now_ms``."""
    if official is not None and official.resets_at_ms is not None:
        return Span(official.resets_at_ms - WINDOW_7D, official.resets_at_ms, OFFICIAL)
    names = [window] if window_kind(window)[0] == SEVEN_DAY else [window, SEVEN_DAY]
    for name in names:
        anchor = newest(
            r
            for r in readings
            if r.window == name
            and r.resets_at_ms is not None
            and r.observed_ms >= now_ms - LEARN_HORIZON_MS
        )
        if anchor is not None and anchor.resets_at_ms is not None:
            reset = anchor.resets_at_ms
            reset += ((now_ms - reset) // WINDOW_7D + 1) * WINDOW_7D
            return Span(reset - WINDOW_7D, reset, CARRIED)
    return Span(now_ms - WINDOW_7D, now_ms, ROLLING)


def estimate(span: Span, series: TokenSeries, found: Ratio, block: Block | None = None) -> Estimate:
    """The window's tokens and cost over ``span`` (a block's own entries for ``block``) and
    their percentage at ``found``'s ratio."""
    if block is not None:
        tokens = sum(item.entry.total_tokens for item in block.entries)
        cost = math.fsum(item.cost for item in block.entries)
    else:
        tokens = series.tokens(span.start_ms, span.end_ms)
        cost = series.cost(span.start_ms, span.end_ms)
    per = found.tokens_per_percent
    return Estimate(
        tokens=tokens,
        cost_usd=cost,
        percent=None if per is None else clamp_percent(tokens / per),
        basis=found.basis,
        start_ms=span.start_ms,
        end_ms=span.end_ms,
        samples=found.samples,
        tokens_per_percent=per,
        spread=found.spread,
        span=span.kind,
    )
