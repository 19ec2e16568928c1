"""What limits leave behind: every official reading a device sent, and every alert fired.

Readings are kept as they came (two devices disagreeing are both kept; the newest wins
only when they are read): ``add_readings`` ignores a reading it already holds (same
account, window, device, source and observed instant), so a device resending is harmless.

An alert fires once per account, window, rule and period (the window's reset): the
firing row is the claim, unique in the database, so of any number of server processes
that decide to fire the same alert one stores it (``claim_alert`` answers ``True``) and
sends it; the others answer ``False`` and send nothing.

Backends: ``sql_limits.SqlLimitStore``; every backend passes
``tests/contract/test_limit_store.py``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

AlertStatus = Literal["sending", "sent", "failed"]


@dataclass(frozen=True, slots=True)
class ReadingRecord:
    """One official reading of one window, as a device reported it."""

    account: str
    window: str
    """``five_hour``, ``seven_day`` or ``seven_day_<family>``."""
    used_percentage: float
    resets_at_ms: int | None
    source: str
    device_id: str
    observed_ms: int
    received_ms: int


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert: which rule fired for which window and period, and what became of it."""

    account: str
    window: str
    rule: str
    """The rule's key (``percent:80``, ``projected``, ``reset``, ``unused``…)."""
    period: str
    """Which window this was (its reset instant, as text): one firing per period."""
    fired_ms: int
    title: str
    body: str
    status: AlertStatus = "sending"
    error: str | None = None
    id: int | None = None


class LimitStore(abc.ABC):
    """Official readings and fired alerts, in the history's database."""

    @abc.abstractmethod
    async def add_readings(self, records: Sequence[ReadingRecord]) -> int:
        """Keep ``records``; answers how many were new."""

    @abc.abstractmethod
    async def readings(self, account: str, since_ms: int) -> list[ReadingRecord]:
        """The account's readings observed at or after ``since_ms``, oldest first."""

    @abc.abstractmethod
    async def prune_readings(self, before_ms: int) -> int:
        """Forget readings observed before ``before_ms``; answers how many."""

    @abc.abstractmethod
    async def claim_alert(self, record: AlertRecord) -> AlertRecord | None:
        """Store ``record`` unless its (account, window, rule, period) fired already:
        the stored record (with its id), or ``None`` when another claim won."""

    @abc.abstractmethod
    async def finish_alert(self, alert_id: int, status: AlertStatus, error: str | None) -> None:
        """Record whether the alert reached its channels."""

    @abc.abstractmethod
    async def alerts(self, account: str | None = None, limit: int = 100) -> list[AlertRecord]:
        """Fired alerts, newest first (``account``: only that account's)."""
