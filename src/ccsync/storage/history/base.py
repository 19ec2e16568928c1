"""The history store: what must outlive a restart.

Entries (every usage line each device pushed, unique by its line identity), which of them
ccusage's duplicate rules keep, devices and their accounts, the ccusage blocks that
block-pushing devices sent, tokens (hashed), settings, and (through ``jobs``) the
scheduler's jobs and runs.

Backends: ``sql.SqlHistoryStore`` (SQLite or PostgreSQL through SQLAlchemy). Every
backend passes ``tests/contract/test_history_store.py``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ccsync.storage.history.jobs import JobStore
from ccsync.storage.history.limits import LimitStore
from ccsync.usage.entry import UsageEntry

TokenKind = Literal["admin", "device"]


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    account: str
    name: str
    hostname: str | None = None
    version: str | None = None
    created_ms: int = 0
    last_seen_ms: int | None = None
    """Last contact of any kind (a push, a socket, a heartbeat)."""
    last_push_ms: int | None = None
    """Last time it sent usage."""


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
class StoredBlock:
    """A 5-hour block as a device's ``ccusage blocks --json`` reported it (the seed's protocol)."""

    account: str
    device_id: str
    block_id: str
    start_ms: int
    end_ms: int
    actual_end_ms: int | None
    is_active: bool
    is_gap: bool
    entries: int
    input_tokens: int
    output_tokens: int
    cache_creation_tokens: int
    cache_read_tokens: int
    cost_usd: float
    models: tuple[str, ...] = ()
    received_ms: int = 0

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_creation_tokens
            + self.cache_read_tokens
        )


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token; only its SHA-256 is stored, never the token."""

    id: str
    kind: TokenKind
    token_hash: str
    label: str = ""
    device_id: str | None = None
    """The device a device token speaks for (``None`` for admin tokens)."""
    created_ms: int = 0
    last_used_ms: int | None = None
    revoked_ms: int | None = None

    @property
    def active(self) -> bool:
        return self.revoked_ms is None


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry with the device that pushed it."""

    device_id: str
    entry: UsageEntry


@dataclass(frozen=True, slots=True)
class KeptChanges:
    """How an account's survivors changed after one of its lines (``HistoryStore.kept_changes``)."""

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
    """What ``HistoryStore.prune`` deleted, and how many survivors it decided again."""

    entries: int = 0
    blocks: int = 0
    runs: int = 0
    redecided: int = 0


@dataclass(slots=True)
class Capabilities:
    """What the backend offers beyond the interface (informational, for ``/api/status``)."""

    backend: Literal["sqlite", "postgresql"]
    extra: dict[str, Any] = field(default_factory=dict)


class HistoryStore(abc.ABC):
    @property
    @abc.abstractmethod
    def capabilities(self) -> Capabilities: ...

    @property
    @abc.abstractmethod
    def jobs(self) -> JobStore:
        """The scheduler's jobs and runs, in the same database."""

    @property
    @abc.abstractmethod
    def limits(self) -> LimitStore:
        """Official readings and fired alerts, in the same database."""

    # -- lifecycle -----------------------------------------------------------------------
    @abc.abstractmethod
    async def ping(self) -> None:
        """Check the database answers; raise ``StorageUnavailableError`` when not."""

    @abc.abstractmethod
    async def aclose(self) -> None: ...

    # -- devices and accounts ------------------------------------------------------------
    @abc.abstractmethod
    async def register_device(
        self,
        device_id: str,
        account: str,
        now_ms: int,
        name: str | None = None,
        hostname: str | None = None,
        version: str | None = None,
    ) -> Device:
        """Create the device, or update it: ``account`` always, the others when given.

        Sets ``last_seen_ms`` to ``now_ms``. A new device's name defaults to its id.
        """

    @abc.abstractmethod
    async def get_device(self, device_id: str) -> Device | None: ...

    @abc.abstractmethod
    async def list_devices(self, account: str | None = None) -> list[Device]:
        """Devices (of one account, or all), by id."""

    @abc.abstractmethod
    async def accounts(self) -> list[str]:
        """Accounts that have at least one device, sorted."""

    # -- the history's identity ----------------------------------------------------------
    @abc.abstractmethod
    async def history_id(self) -> str:
        """A random id made with the database: a new, wiped or replaced database has
        another one (a backup restored has the id it had)."""

    @abc.abstractmethod
    async def device_mark(self, device_id: str, stream: str) -> int:
        """Every line of the device's agent ``stream`` numbered up to this is stored
        (0: nothing is known of the stream)."""

    # -- usage entries -------------------------------------------------------------------
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
        order in which devices push. Lines without a message id always survive. Sets the
        device's ``last_push_ms`` and ``last_seen_ms``. With ``mark``, the stream's mark
        moves up to ``mark.seq`` if it was at least ``mark.acked`` (else it stays: lines
        the agent saw acknowledged are missing) and is returned. Atomic: all or nothing.
        """

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
        with one of them (the only lines whose decision a new line can change), with its
        current decision; from the start (``after_id`` 0), only the surviving lines. Line
        ids grow in the order an account's lines are stored, so applying each answer in
        turn to a copy of ``kept_entries`` keeps it equal.
        """

    @abc.abstractmethod
    async def prune(self, before_ms: int) -> PruneResult:
        """Delete what is older than ``before_ms``: lines by timestamp, ccusage blocks by
        end, finished cron runs by start. Message ids that lost lines are decided again
        over the lines left (so a newer duplicate of a deleted survivor survives), and the
        ``generation`` of ``kept_changes`` moves on. Atomic."""

    @abc.abstractmethod
    async def device_entries(
        self, account: str, device_id: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[UsageEntry]:
        """Every stored line of one device (duplicates included) in the range, in time order."""

    @abc.abstractmethod
    async def entry_count(self, account: str | None = None) -> int:
        """Stored lines (duplicates of one message included)."""

    # -- ccusage blocks (devices that push ``ccusage blocks --json``) ---------------------
    @abc.abstractmethod
    async def replace_blocks(
        self, account: str, device_id: str, blocks: Sequence[StoredBlock]
    ) -> None:
        """The device's blocks become ``blocks`` (same ``block_id`` replaced, others kept)."""

    @abc.abstractmethod
    async def blocks(self, account: str, device_id: str | None = None) -> list[StoredBlock]:
        """Stored blocks, by start time."""

    @abc.abstractmethod
    async def block_counts(self, account: str) -> dict[str, int]:
        """How many blocks each device of the account stored (one query; devices without
        blocks are left out)."""

    # -- tokens --------------------------------------------------------------------------
    @abc.abstractmethod
    async def add_token(self, record: TokenRecord) -> None: ...

    @abc.abstractmethod
    async def token_by_hash(self, token_hash: str) -> TokenRecord | None: ...

    @abc.abstractmethod
    async def list_tokens(self) -> list[TokenRecord]:
        """All tokens, revoked ones included, by creation time."""

    @abc.abstractmethod
    async def revoke_token(self, token_id: str, now_ms: int) -> bool:
        """Revoke; whether an active token had that id."""

    @abc.abstractmethod
    async def touch_token(self, token_id: str, now_ms: int) -> None:
        """Record a use (``last_used_ms``)."""

    # -- settings ------------------------------------------------------------------------
    @abc.abstractmethod
    async def get_settings(self) -> dict[str, Any]:
        """Every stored runtime setting (JSON values by name)."""

    @abc.abstractmethod
    async def put_settings(self, values: dict[str, Any]) -> dict[str, Any]:
        """Store the given settings (others unchanged); the settings after the change."""
