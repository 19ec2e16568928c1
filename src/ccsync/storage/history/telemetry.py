"""What Claude Code's OpenTelemetry export says beside its usage events, kept to check them.

- Metric points: ``claude_code.token.usage`` (by token type) and ``claude_code.cost.usage``,
  one row per data point of a series. A delta point is identified by its series and
  window (an exporter's retry stores nothing new); a cumulative point replaces the older
  reading of its series (same series and start), so the sum of a series' rows is its
  total either way.
- Retention sweeps: a device deleting transcripts (``claude_code.retention_sweep``), once
  per event.

Backends: ``sql_telemetry.SqlTelemetryStore``, in the history store's database
(``HistoryStore.telemetry``); every backend passes ``tests/contract/test_telemetry_store.py``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

MetricName = Literal["tokens", "cost"]


@dataclass(frozen=True, slots=True)
class MetricPoint:
    account: str
    device_id: str
    session: str
    metric: MetricName
    kind: str
    """The token type (``input``, ``output``, ``cacheRead``, ``cacheCreation``); empty for cost."""
    series: str
    """Identifies the point's series (its metric, device and attributes) and, for a delta
    point, its window: points with equal keys are one reading."""
    time_ms: int
    """The end of the point's window."""
    value: float
    model: str | None = None


@dataclass(frozen=True, slots=True)
class SessionTotals:
    """A session's metric points, summed."""

    account: str
    device_id: str
    session: str
    tokens: dict[str, float] = field(default_factory=dict)
    """By token type."""
    cost_usd: float = 0.0
    last_ms: int = 0
    """The newest point's time."""


@dataclass(frozen=True, slots=True)
class RetentionSweep:
    key: str
    """Identifies the event (an exporter's retry stores nothing new)."""
    account: str
    device_id: str
    session: str
    time_ms: int
    result: str
    """``complete`` or ``skipped``."""
    transcripts_deleted: int | None = None
    details: dict[str, str] = field(default_factory=dict)
    """Every attribute of the event that says what the sweep did (``period_days``, …)."""


class TelemetryStore(abc.ABC):
    @abc.abstractmethod
    async def add_points(self, points: Sequence[MetricPoint]) -> int:
        """Store the points (by ``series``: the same key again is the same reading, unless
        its ``time_ms`` is newer: then it replaces it); how many were new or newer."""

    @abc.abstractmethod
    async def session_totals(self, account: str, limit: int = 100) -> list[SessionTotals]:
        """The ``limit`` sessions of the account with the newest points, newest first."""

    @abc.abstractmethod
    async def add_sweeps(self, sweeps: Sequence[RetentionSweep]) -> int:
        """Store the sweeps not stored yet (by ``key``); how many were new."""

    @abc.abstractmethod
    async def sweeps(
        self, account: str | None = None, device_id: str | None = None, limit: int = 100
    ) -> list[RetentionSweep]:
        """The newest ``limit`` sweeps (of an account, of a device), newest first."""

    @abc.abstractmethod
    async def prune(self, before_ms: int) -> int:
        """Delete points and sweeps older than ``before_ms``; how many rows went."""
