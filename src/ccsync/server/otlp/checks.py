"""What devices' telemetry says beside their entries: ``/api/otlp/sessions`` and ``/sweeps``.

- Sessions: per session with metric points, the token counts Claude Code's own
  ``claude_code.token.usage`` sums gave, next to the counts of the account's surviving
  entries of that session (from transcripts or telemetry, any device), and where they
  disagree. Costs are shown side by side and not compared: Claude Code's is its estimate,
  the entries' are priced from ccsync's table. Metric points are exported once a minute:
  a session in progress may disagree until the next export.
- Retention sweeps: when Claude Code on a device deleted transcripts (``cleanupPeriodDays``)
  — usage before that exists only where it was sent.
"""

from __future__ import annotations

from collections import defaultdict

import msgspec

from ccsync.clock import Clock
from ccsync.server.reporting import Reporter
from ccsync.storage.history.telemetry import RetentionSweep, TelemetryStore
from ccsync.usage.pricing import CostMode, price_entry
from ccsync.usage.timestamps import iso_millis

TOKEN_TYPES = ("input", "output", "cacheRead", "cacheCreation")
"""The ``type`` of ``claude_code.token.usage``, in the order shown."""


class TokenCounts(msgspec.Struct, rename="camel"):
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0


class SessionCheck(msgspec.Struct, rename="camel"):
    device_id: str
    """The device whose telemetry reported the session."""
    session: str
    last_point: str
    """When its newest metric point ended."""
    telemetry: TokenCounts
    """What the metric points sum to."""
    telemetry_cost_usd: float = msgspec.field(name="telemetryCostUSD")
    """Claude Code's own estimate (``claude_code.cost.usage``)."""
    entries: TokenCounts
    """What the surviving entries of the session count."""
    entries_cost_usd: float = msgspec.field(name="entriesCostUSD")
    entry_count: int
    agrees: bool
    """Every token count equal."""
    differences: list[str]
    """One line per token type that differs: ``output: telemetry 12, entries 10``."""


class SessionChecks(msgspec.Struct):
    account: str
    sessions: list[SessionCheck]
    """Sessions with the newest metric points first."""
    disagreeing: int
    timestamp: str


class SweepView(msgspec.Struct, rename="camel"):
    device_id: str
    account: str
    session: str
    time: str
    result: str
    """``complete`` or ``skipped``."""
    transcripts_deleted: int | None
    details: dict[str, str]
    """The event's attributes: ``period_days``, ``session_files_deleted``, ``skip_reason``…"""


class SweepList(msgspec.Struct):
    sweeps: list[SweepView]
    """Newest first."""
    timestamp: str


def sweep_view(sweep: RetentionSweep) -> SweepView:
    return SweepView(
        device_id=sweep.device_id,
        account=sweep.account,
        session=sweep.session,
        time=iso_millis(sweep.time_ms),
        result=sweep.result,
        transcripts_deleted=sweep.transcripts_deleted,
        details=sweep.details,
    )


class TelemetryChecks:
    def __init__(self, *, telemetry: TelemetryStore, reporter: Reporter, clock: Clock) -> None:
        self.telemetry = telemetry
        self.reporter = reporter
        self.clock = clock

    async def sessions(self, account: str | None, limit: int = 100) -> SessionChecks:
        """The account's sessions with metric points (the newest ``limit``)."""
        resolved = await self.reporter.resolve_account(account)
        totals = await self.telemetry.session_totals(resolved, limit)
        wanted = {total.session for total in totals}
        counted: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        costs: dict[str, float] = defaultdict(float)
        if wanted:
            for stored in await self.reporter.survivors.entries(resolved):
                entry = stored.entry
                if entry.session not in wanted:
                    continue
                sums = counted[entry.session]
                sums[0] += entry.input_tokens
                sums[1] += entry.output_tokens
                sums[2] += entry.cache_read_tokens
                sums[3] += entry.cache_creation_tokens
                sums[4] += 1
                costs[entry.session] += price_entry(entry, CostMode.AUTO, self.reporter.prices)[0]
        checks = []
        for total in totals:
            metric = [round(total.tokens.get(kind, 0.0)) for kind in TOKEN_TYPES]
            entries = counted.get(total.session, [0, 0, 0, 0, 0])
            differences = [
                f"{kind}: telemetry {got}, entries {have}"
                for kind, got, have in zip(TOKEN_TYPES, metric, entries[:4], strict=True)
                if got != have
            ]
            checks.append(
                SessionCheck(
                    device_id=total.device_id,
                    session=total.session,
                    last_point=iso_millis(total.last_ms),
                    telemetry=TokenCounts(*metric),
                    telemetry_cost_usd=total.cost_usd,
                    entries=TokenCounts(*entries[:4]),
                    entries_cost_usd=costs.get(total.session, 0.0),
                    entry_count=entries[4],
                    agrees=not differences,
                    differences=differences,
                )
            )
        return SessionChecks(
            account=resolved,
            sessions=checks,
            disagreeing=sum(1 for check in checks if not check.agrees),
            timestamp=iso_millis(self.clock.now_ms()),
        )

    async def sweeps(
        self, account: str | None, device_id: str | None, limit: int = 100
    ) -> SweepList:
        """Retention sweeps devices reported, newest first (of an account, of a device)."""
        found = await self.telemetry.sweeps(account, device_id, limit)
        return SweepList(
            sweeps=[sweep_view(sweep) for sweep in found],
            timestamp=iso_millis(self.clock.now_ms()),
        )
