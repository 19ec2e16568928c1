"""The history store: what must outlive a restart, in one database, by role.

Each role is a small interface of its own module: ``devices.DeviceStore`` (devices and
their accounts), ``entries.EntryStore`` (usage lines, their survivors, the history's
identity and stream marks, retention), ``blocks.BlockStore`` (ccusage blocks),
``tokens.TokenStore``, ``settings.SettingsStore`` (runtime settings) and
``jobs.JobStore`` (cron jobs and runs), ``limits.LimitStore`` (official readings and fired
alerts), ``telemetry.TelemetryStore`` (what OpenTelemetry exports say beside usage: metric
points, retention sweeps). ``HistoryStore`` holds them with the database they
share: only the composition root has it; each service is given the roles it uses.

Backends: ``sql.SqlHistoryStore`` (SQLite or PostgreSQL through SQLAlchemy). Every
backend passes the contract suites in ``tests/contract/``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Literal

from ccsync.storage.history.blocks import BlockStore
from ccsync.storage.history.devices import DeviceStore
from ccsync.storage.history.entries import EntryStore
from ccsync.storage.history.jobs import JobStore
from ccsync.storage.history.limits import LimitStore
from ccsync.storage.history.settings import SettingsStore
from ccsync.storage.history.telemetry import TelemetryStore
from ccsync.storage.history.tokens import TokenStore


@dataclass(slots=True)
class Capabilities:
    """What the backend offers beyond the interface (informational, for ``/api/status``)."""

    backend: Literal["sqlite", "postgresql"]
    extra: dict[str, Any] = field(default_factory=dict)


class HistoryStore(abc.ABC):
    """The roles of one database, opened and closed together."""

    @property
    @abc.abstractmethod
    def capabilities(self) -> Capabilities: ...

    @property
    @abc.abstractmethod
    def devices(self) -> DeviceStore: ...

    @property
    @abc.abstractmethod
    def entries(self) -> EntryStore: ...

    @property
    @abc.abstractmethod
    def blocks(self) -> BlockStore: ...

    @property
    @abc.abstractmethod
    def tokens(self) -> TokenStore: ...

    @property
    @abc.abstractmethod
    def settings(self) -> SettingsStore: ...

    @property
    @abc.abstractmethod
    def jobs(self) -> JobStore:
        """The scheduler's jobs and runs."""

    @property
    @abc.abstractmethod
    def limits(self) -> LimitStore:
        """Official readings and fired alerts."""

    @property
    @abc.abstractmethod
    def telemetry(self) -> TelemetryStore:
        """What OpenTelemetry exports say beside usage (metric points, retention sweeps)."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Check the database answers; raise ``StorageUnavailableError`` when not."""

    @abc.abstractmethod
    async def aclose(self) -> None: ...
