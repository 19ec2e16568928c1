"""The account's live 5-hour window: the active block over every device, and its outlook.

The window is the block (``blocks.identify_blocks``) that "now" falls in, computed over
the account's deduplicated entries from all devices. Around it: how fast it burns, where
it ends up at this rate, how much of a limit that is, each device's share, and the
official percentages Claude Code reported when a device saw them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ccsync.usage.blocks import Block, burn_rate, identify_blocks, project
from ccsync.usage.reports import PricedEntry
from ccsync.usage.timestamps import MS_PER_HOUR, iso_millis

LOOKBACK_MS = 7 * 24 * MS_PER_HOUR
"""How far back entries are read to find where the current chain of blocks started."""


@dataclass(frozen=True, slots=True)
class DeviceUsage:
    """One device's part of the window (from its lines, or from its own ccusage block)."""

    device_id: str
    tokens: int
    cost_usd: float
    source: str = "entries"
    """``entries`` (computed here) or ``ccusage`` (the device's own ``blocks --json``)."""
    end_ms: int | None = None
    """Where the device's own block ends (``ccusage`` devices)."""


@dataclass(frozen=True, slots=True)
class OfficialLimit:
    """A percentage Claude Code showed in its status line (``rate_limits.*``)."""

    used_percentage: float
    resets_at_ms: int | None
    device_id: str
    reported_ms: int

    def to_json(self, now_ms: int) -> dict[str, Any]:
        return {
            "usedPercentage": self.used_percentage,
            "resetsAt": None if self.resets_at_ms is None else iso_millis(self.resets_at_ms),
            "source": self.device_id,
            "reportedAt": iso_millis(self.reported_ms),
            "ageSeconds": max(0.0, (now_ms - self.reported_ms) / 1000),
        }


@dataclass(slots=True)
class Window:
    account: str
    now_ms: int
    block: Block | None
    devices: list[DeviceUsage] = field(default_factory=list)
    token_limit: int | None = None
    limit_source: str | None = None
    official: dict[str, OfficialLimit] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        block = self.block
        result: dict[str, Any] = {
            "account": self.account,
            "active": block is not None,
            "now": iso_millis(self.now_ms),
            "official": {name: limit.to_json(self.now_ms) for name, limit in self.official.items()},
        }
        extra_tokens = sum(d.tokens for d in self.devices if d.source == "ccusage")
        extra_cost = sum(d.cost_usd for d in self.devices if d.source == "ccusage")
        if block is None:
            result.update(
                start=None,
                end=None,
                lastActivity=None,
                timeline=[],
                resetInSeconds=None,
                tokens=extra_tokens,
                costUSD=extra_cost,
                tokenCounts=None,
                burnRate=None,
                projection=None,
                models=[],
                unpricedModels=[],
            )
        else:
            sums = block.sums()
            rate = burn_rate(block)
            projection = project(block, self.now_ms)
            result.update(
                start=iso_millis(block.start_ms),
                end=iso_millis(block.end_ms),
                lastActivity=None if block.last_ms is None else iso_millis(block.last_ms),
                resetInSeconds=max(0.0, (block.end_ms - self.now_ms) / 1000),
                tokens=sums.total_tokens + extra_tokens,
                costUSD=sums.cost + extra_cost,
                tokenCounts={
                    "inputTokens": sums.input,
                    "outputTokens": sums.output,
                    "cacheCreationInputTokens": sums.cache_creation,
                    "cacheReadInputTokens": sums.cache_read,
                },
                entries=len(block.entries),
                timeline=timeline(block, self.now_ms),
                models=[m for m in block.totals().models if m is not None],
                unpricedModels=sorted({i.unpriced for i in block.entries if i.unpriced}),
                burnRate=None
                if rate is None
                else {
                    "tokensPerMinute": rate.tokens_per_minute,
                    "tokensPerMinuteForIndicator": rate.tokens_per_minute_for_indicator,
                    "costPerHour": rate.cost_per_hour,
                },
                projection=None
                if projection is None
                else {
                    "totalTokens": projection.total_tokens + extra_tokens,
                    "totalCost": projection.total_cost,
                    "remainingMinutes": projection.remaining_minutes,
                },
            )
        tokens = result["tokens"]
        projected = result["projection"]["totalTokens"] if result["projection"] else tokens
        result["limit"] = (
            None
            if self.token_limit is None
            else {
                "tokens": self.token_limit,
                "source": self.limit_source,
                "percentUsed": tokens / self.token_limit * 100,
                "projectedPercent": projected / self.token_limit * 100,
            }
        )
        total = sum(d.tokens for d in self.devices) or 0
        result["devices"] = [
            {
                "deviceId": d.device_id,
                "tokens": d.tokens,
                "costUSD": d.cost_usd,
                "share": d.tokens / total if total else 0.0,
                "source": d.source,
            }
            for d in sorted(self.devices, key=lambda d: (-d.tokens, d.device_id))
        ]
        return result


TIMELINE_STEP_MS = 5 * 60_000


def timeline(block: Block, now_ms: int) -> list[list[Any]]:
    """The block's tokens so far at the end of each 5-minute step with activity (or at
    ``now_ms`` within the current step): ``[[iso time, cumulative tokens], …]``, at most
    60 points, for charts."""
    points: list[list[Any]] = []
    total = 0
    for item in block.entries:
        total += item.entry.total_tokens
        step_end = (
            block.start_ms
            + ((item.entry.timestamp_ms - block.start_ms) // TIMELINE_STEP_MS + 1)
            * TIMELINE_STEP_MS
        )
        stamp = iso_millis(min(step_end, block.end_ms, max(now_ms, item.entry.timestamp_ms)))
        if points and points[-1][0] == stamp:
            points[-1][1] = total
        else:
            points.append([stamp, total])
    return points


def current_window(
    account: str,
    priced: Sequence[PricedEntry],
    now_ms: int,
    *,
    token_limit: int | None = None,
    ccusage_blocks: Sequence[DeviceUsage] = (),
    official: dict[str, OfficialLimit] | None = None,
) -> Window:
    """The window at ``now_ms`` over ``priced`` entries (each with its ``device``).

    Without ``token_limit``, the limit is the largest past block (ccusage's ``-t max``).
    ``ccusage_blocks`` are the active blocks of devices that push ccusage's blocks instead
    of lines; their tokens add to the window (unless the device's lines are in it).
    """
    blocks = identify_blocks(priced, now_ms)
    active = next((b for b in reversed(blocks) if b.is_active), None)
    limit_source = "setting" if token_limit is not None else None
    if token_limit is None:
        past = [b.sums().total_tokens for b in blocks if not b.is_gap and not b.is_active]
        if past:
            token_limit, limit_source = max(past), "max-past-block"
    devices: dict[str, list[float]] = {}
    if active is not None:
        for item in active.entries:
            tokens_cost = devices.setdefault(item.device, [0, 0.0])
            tokens_cost[0] += item.entry.total_tokens
            tokens_cost[1] += item.cost
    usage = [DeviceUsage(device, int(tc[0]), tc[1]) for device, tc in devices.items()]
    # A device whose own lines are in the window is counted from them, not its ccusage summary.
    usage += [block for block in ccusage_blocks if block.device_id not in devices]
    return Window(account, now_ms, active, usage, token_limit, limit_source, dict(official or {}))
