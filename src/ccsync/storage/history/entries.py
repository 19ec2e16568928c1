"""Usage entries: every line each device pushed, unique by its line identity, and which of
them ccusage's duplicate rules keep; the history's identity and each agent stream's mark.

Backends: ``sql_entries.SqlEntryStore``; every backend passes
``tests/contract/test_entry_store.py`` (and ``test_history_identity.py``, ``test_survivors.py``,
``test_telemetry_lines.py``).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field

from ccsync.usage.entry import UsageEntry


@dataclass(frozen=True, slots=True)
class StreamMark:
    """Where a push stands in its agent's stream of numbered lines (``wire.UsagePush``)."""

    stream: str
    seq: int
    """The highest number among the push's lines."""
    acked: int
    """The highest number the agent saw acknowledged before."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int = 0
    """Lines stored now."""
    duplicate: int = 0
    """Lines that were stored already (same ``source`` and ``offset``): nothing changed."""
    mark: int | None = None
    """With a ``StreamMark``: the stream's mark after this push."""


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry with the device that pushed it."""

    device_id: str
    entry: UsageEntry


@dataclass(frozen=True, slots=True)
class KeptChanges:
    """How an account's survivors changed after one of its lines (``EntryStore.kept_changes``)."""

    last_id: int
    """The newest line id of the account this read saw (the next ``after_id``)."""
    kept: list[tuple[int, StoredEntry]] = field(default_factory=list)
    """Lines (by id) that survive now: the new ones, and older ones decided again."""
    dropped: list[int] = field(default_factory=list)
    """Lines (by id) that do not survive now."""
    generation: int = 0
    """Changes with every ``prune``: a copy built before it must be built again."""


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What ``EntryStore.prune`` deleted, and how many survivors it decided again."""

    entries: int = 0
    blocks: int = 0
    runs: int = 0
    redecided: int = 0


class EntryStore(abc.ABC):
    # -- the history's identity ----------------------------------------------------------
    @abc.abstractmethod
    async def history_id(self) -> str:
        """A random id made with the database: a new, wiped or replaced database has
        another one (a backup restored has the id it had)."""

    @abc.abstractmethod
    async def device_mark(self, device_id: str, stream: str) -> int:
        """Every line of the device's agent ``stream`` numbered up to this is stored
        (0: nothing is known of the stream)."""

    # -- storing lines -------------------------------------------------------------------
    @abc.abstractmethod
    async def ingest(
        self,
        account: str,
        device_id: str,
        entries: Sequence[UsageEntry],
        now_ms: int,
        mark: StreamMark | None = None,
    ) -> IngestResult:
        """Store the lines a device pushed, and keep ccusage's survivors up to date.

        A line is identified by ``(source, offset)``: a line stored before is a duplicate
        and changes nothing. After the new lines are stored, every message id they carry
        is decided again over all stored lines of the account with that id
        (``ccsync.usage.dedup.dedupe_message``), so the survivors never depend on the
        order in which devices push. Lines without a message id always survive, except
        telemetry lines (``UsageEntry.from_telemetry``): they are decided by request id
        (``ccsync.usage.dedup.dedupe_request``) whenever a line of their request is stored.
        Creates
        the device when it is new (named by its id) and sets its ``last_push_ms`` and
        ``last_seen_ms``. With ``mark``, the stream's mark moves up to ``mark.seq`` if it
        was at least ``mark.acked`` (else it stays: lines the agent saw acknowledged are
        missing) and is returned. Atomic: all or nothing.
        """

    @abc.abstractmethod
    async def prune(self, before_ms: int) -> PruneResult:
        """Delete what is older than ``before_ms``: lines by timestamp, ccusage blocks by
        end, finished cron runs by start. Message ids that lost lines are decided again
        over the lines left (so a newer duplicate of a deleted survivor survives; telemetry
        lines by request id), and the ``generation`` of ``kept_changes`` moves on. Atomic."""

    # -- reading lines -------------------------------------------------------------------
    @abc.abstractmethod
    async def kept_entries(
        self, account: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[StoredEntry]:
        """The surviving entries of an account with ``since_ms <= timestamp < until_ms``,
        in time order (``ccsync.usage.entry.time_order``)."""

    @abc.abstractmethod
    async def kept_changes(self, account: str, after_id: int = 0) -> KeptChanges:
        """What changed in the account's survivors since its line ``after_id`` was stored.

        Every line stored after ``after_id``, and every older line sharing a message id
        with one of them, or a telemetry line sharing a request id (the only lines whose
        decision a new line can change), with its
        current decision; from the start (``after_id`` 0), only the surviving lines. Line
        ids grow in the order an account's lines are stored, so applying each answer in
        turn to a copy of ``kept_entries`` keeps it equal.
        """

    @abc.abstractmethod
    async def device_entries(
        self, account: str, device_id: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[UsageEntry]:
        """Every stored line of one device (duplicates included) in the range, in time order."""

    @abc.abstractmethod
    async def entry_count(self, account: str | None = None) -> int:
        """Stored lines (duplicates of one message included)."""
