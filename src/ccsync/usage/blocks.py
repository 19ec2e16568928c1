"""5-hour session blocks, as ccusage's ``blocks`` report builds them.

A block starts at the UTC hour of its first entry and lasts ``session_hours``; an entry
more than that after the block's start, or after the previous entry, starts a new
block, and a silence longer than the block length leaves a gap block. The active block
(the one "now" falls in, with activity in the last block length) gets a burn rate and a
projection to its end. "Now" is a parameter, so the same entries always give the same
report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ccsync.usage.entry import time_order
from ccsync.usage.reports import DayRange, Order, PricedEntry, Report, Sums, Totals
from ccsync.usage.timestamps import (
    MS_PER_HOUR,
    MS_PER_MINUTE,
    DateKeys,
    iso_millis,
    resolve_timezone,
)

DEFAULT_SESSION_HOURS = 5.0
RECENT_DAYS = 3


@dataclass(slots=True)
class Block:
    """A 5-hour block of activity, or a gap between two blocks."""

    start_ms: int
    end_ms: int
    entries: list[PricedEntry]
    is_gap: bool = False
    is_active: bool = False

    @property
    def last_ms(self) -> int | None:
        return self.entries[-1].entry.timestamp_ms if self.entries else None

    def totals(self) -> Totals:
        totals = Totals()
        for item in self.entries:
            totals.add(item)
        return totals

    def sums(self) -> Sums:
        """Tokens and cost of all the block's entries."""
        return self.totals().sums()


@dataclass(frozen=True, slots=True)
class BurnRate:
    tokens_per_minute: float
    tokens_per_minute_for_indicator: float
    """Input plus output tokens per minute (what ccusage's indicator uses)."""
    cost_per_hour: float


@dataclass(frozen=True, slots=True)
class Projection:
    total_tokens: int
    total_cost: float
    remaining_minutes: int


def _hour_floor(ms: int) -> int:
    return ms - ms % MS_PER_HOUR


def identify_blocks(
    priced: Sequence[PricedEntry], now_ms: int, session_hours: float = DEFAULT_SESSION_HOURS
) -> list[Block]:
    """Blocks and gaps over all entries, in time order."""
    length = round(session_hours * MS_PER_HOUR)
    ordered = sorted(priced, key=lambda item: time_order(item.entry))
    blocks: list[Block] = []
    current: list[PricedEntry] = []
    start = 0
    for item in ordered:
        ts = item.entry.timestamp_ms
        if not current:
            start = _hour_floor(ts)
        else:
            last = current[-1].entry.timestamp_ms
            if ts - start > length or ts - last > length:
                blocks.append(_block(start, length, current, now_ms))
                current = []
                if ts - last > length:
                    blocks.append(Block(last + length, ts, [], is_gap=True))
                start = _hour_floor(ts)
        current.append(item)
    if current:
        blocks.append(_block(start, length, current, now_ms))
    return blocks


def _block(start: int, length: int, entries: list[PricedEntry], now_ms: int) -> Block:
    end = start + length
    last = entries[-1].entry.timestamp_ms
    return Block(start, end, entries, is_active=now_ms - last < length and now_ms < end)


def burn_rate(block: Block) -> BurnRate | None:
    """Tokens and cost per unit of time between the block's first and last entries."""
    if block.is_gap or not block.entries:
        return None
    minutes = (
        block.entries[-1].entry.timestamp_ms - block.entries[0].entry.timestamp_ms
    ) / MS_PER_MINUTE
    if minutes <= 0:
        return None
    sums = block.sums()
    return BurnRate(
        tokens_per_minute=sums.total_tokens / minutes,
        tokens_per_minute_for_indicator=(sums.input + sums.output) / minutes,
        cost_per_hour=sums.cost / minutes * 60,
    )


def project(block: Block, now_ms: int) -> Projection | None:
    """Where the block ends up if the burn rate holds until its end."""
    rate = burn_rate(block)
    if rate is None:
        return None
    sums = block.sums()
    remaining = round_half_away((block.end_ms - now_ms) / MS_PER_MINUTE)
    return Projection(
        total_tokens=round_half_away(sums.total_tokens + rate.tokens_per_minute * remaining),
        total_cost=round_half_away((sums.cost + rate.cost_per_hour / 60 * remaining) * 100) / 100,
        remaining_minutes=remaining,
    )


def round_half_away(value: float) -> int:
    """Rounding as Rust's ``f64::round`` does it: halves away from zero (Python's go to even)."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


@dataclass(frozen=True, slots=True)
class BlocksOptions:
    """``blocks``-only options (ccusage's flags of the same names)."""

    timezone: str | None = None
    since: date | None = None
    until: date | None = None
    order: Order = Order.ASC
    active: bool = False
    recent: bool = False
    token_limit: int | str | None = None
    """A number of tokens, or ``"max"`` for the largest past block."""
    session_hours: float = DEFAULT_SESSION_HOURS


def blocks_report(priced: Sequence[PricedEntry], options: BlocksOptions, now_ms: int) -> Report:
    blocks = identify_blocks(priced, now_ms, options.session_hours)
    wanted = DayRange(options.since, options.until)
    if not wanted.everything:
        keys = DateKeys(resolve_timezone(options.timezone))
        blocks = [b for b in blocks if keys.key(b.start_ms) in wanted]
    if options.recent:
        cutoff = now_ms - RECENT_DAYS * 24 * MS_PER_HOUR
        blocks = [b for b in blocks if b.start_ms >= cutoff or b.is_active]
    if options.active:
        blocks = [b for b in blocks if b.is_active]
    limit = _token_limit(options.token_limit, blocks)
    if options.order == Order.DESC:
        blocks = blocks[::-1]
    return {"blocks": [block_json(b, now_ms, limit) for b in blocks]}


def _token_limit(value: int | str | None, blocks: Sequence[Block]) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    past = [b.totals().total_tokens for b in blocks if not b.is_gap and not b.is_active]
    return max(past, default=None)


def block_json(block: Block, now_ms: int, token_limit: int | None = None) -> Report:
    """One block in ccusage's JSON shape."""
    prefix = "gap-" if block.is_gap else ""
    totals = block.totals()
    sums = totals.sums()
    result: Report = {
        "id": prefix + iso_millis(block.start_ms),
        "startTime": iso_millis(block.start_ms),
        "endTime": iso_millis(block.end_ms),
        "actualEndTime": None if block.last_ms is None else iso_millis(block.last_ms),
        "isActive": block.is_active,
        "isGap": block.is_gap,
        "entries": len(block.entries),
        "tokenCounts": {
            "inputTokens": sums.input,
            "outputTokens": sums.output,
            "cacheCreationInputTokens": sums.cache_creation,
            "cacheReadInputTokens": sums.cache_read,
        },
        "totalTokens": sums.total_tokens,
        "costUSD": sums.cost if block.entries else 0,
        "models": [model for model in totals.models if model is not None],
        "burnRate": None,
        "projection": None,
    }
    reset = next(
        (p.entry.usage_limit_reset_ms for p in block.entries if p.entry.usage_limit_reset_ms),
        None,
    )
    if reset is not None:
        result["usageLimitResetTime"] = iso_millis(reset)
    if block.is_active:
        rate = burn_rate(block)
        projection = project(block, now_ms)
        if rate is not None:
            result["burnRate"] = {
                "tokensPerMinute": rate.tokens_per_minute,
                "tokensPerMinuteForIndicator": rate.tokens_per_minute_for_indicator,
                "costPerHour": rate.cost_per_hour,
            }
        if projection is not None:
            result["projection"] = {
                "totalTokens": projection.total_tokens,
                "totalCost": projection.total_cost,
                "remainingMinutes": projection.remaining_minutes,
            }
            if token_limit:
                result["tokenLimitStatus"] = _limit_status(projection.total_tokens, token_limit)
    return result


def _limit_status(projected: int, limit: int) -> dict[str, Any]:
    status = "exceeds" if projected > limit else "warning" if projected > 0.8 * limit else "ok"
    return {
        "limit": limit,
        "projectedUsage": projected,
        "percentUsed": projected / limit * 100,
        "status": status,
    }
