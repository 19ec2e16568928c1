"""The live store: short-lived values under ``live:<key>`` (``ValueStore``) and one
channel of events (``EventBus``), from one backend (``LiveStore``).

Values are JSON (anything ``json.dumps`` takes whose text is valid UTF-8: no NaN, no lone
surrogate), kept as UTF-8 JSON text. Every value expires: after ``ttl`` seconds (300
unless told otherwise) it is gone from ``get`` and ``items``. A stored text that does not
decode (garbage written into Redis by something else) reads as missing, never as an error.

Client keys (every key ``LiveCaps.exempt`` does not exempt: by default those the server
does not own, ``ccsync.server.live_keys``) are capped: a value's size, how many client keys
live, and their total size. A ``set`` past a cap stores nothing and raises a
``LiveCapError``; expired and deleted keys stop counting. On Redis the counts are shared
by every replica.

Events are JSON objects; each is delivered to every subscriber of every process sharing
the store (one Redis), in publish order, or not at all to a subscriber that was not
subscribed yet.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

JSON = Any
"""A JSON value: dict, list, str, int, float, bool or None."""
Event = dict[str, Any]

LIVE_PREFIX = "live:"

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class LiveCaps:
    """How much clients may keep in the live store; sizes are bytes of UTF-8 JSON text."""

    value_bytes: int = MIB
    """The largest value of a client key."""
    keys: int = 10_000
    """How many client keys may live at once."""
    total_bytes: int = 16 * MIB
    """The total size of the client keys' values."""
    exempt: Callable[[str], bool] = lambda key: False
    """Keys the caps do not apply to (the server passes its own keys: what it writes is
    bounded by what it writes; ``server.live_keys.is_server_owned``)."""


class LiveCapError(Exception):
    """Storing a client key would pass a cap (``LiveCaps``); nothing was stored."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class LiveValueTooLargeError(LiveCapError):
    """The value alone is larger than ``LiveCaps.value_bytes``."""


class LiveStoreFullError(LiveCapError):
    """The client keys already hold ``LiveCaps.keys`` keys or ``LiveCaps.total_bytes``."""


@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    """Live values as their stored JSON text, within a size budget (``ValueStore.snapshot``)."""

    texts: dict[str, bytes]
    """``key`` (without ``live:``) → its value as UTF-8 JSON text, in the order asked for."""
    omitted: int = 0
    """Live keys left out to stay within the budget."""


@dataclass(frozen=True, slots=True)
class LiveStats:
    """How full the store is (``ValueStore.stats``)."""

    keys: int
    """Live keys, server-owned included (on Redis, one that expired in the last two
    seconds may still count)."""
    client_keys: int
    """Live client keys: what ``LiveCaps.keys`` caps."""
    client_bytes: int
    """Their total size: what ``LiveCaps.total_bytes`` caps."""


class ValueStore(abc.ABC):
    """Short-lived values under ``live:<key>``, and claims. Backends:
    ``memory.MemoryValueStore``, ``redis_values.RedisValueStore``."""

    def __init__(self, default_ttl: float = 300.0, caps: LiveCaps | None = None) -> None:
        self.default_ttl = default_ttl
        self.caps = LiveCaps() if caps is None else caps

    @property
    @abc.abstractmethod
    def backend(self) -> str:
        """``memory`` or ``redis``."""

    @abc.abstractmethod
    async def get(self, key: str) -> JSON | None:
        """The value at ``live:<key>``, or ``None`` when missing or expired."""

    @abc.abstractmethod
    async def get_many(self, keys: Sequence[str]) -> list[JSON | None]:
        """The values at ``live:<key>`` for each of ``keys``, in order (one round trip)."""

    @abc.abstractmethod
    async def set(self, key: str, value: JSON, ttl: float | None = None) -> None:
        """Store ``value`` at ``live:<key>`` for ``ttl`` seconds (``default_ttl`` when ``None``).

        ``TypeError``/``ValueError`` when ``value`` is not JSON (NaN, a lone surrogate);
        ``LiveValueTooLargeError``/``LiveStoreFullError`` when a client key would pass a
        cap. Either way nothing changes.
        """

    @abc.abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove ``live:<key>``; whether it was there."""

    @abc.abstractmethod
    async def items(self) -> dict[str, JSON]:
        """Every live value, keyed ``live:<key>`` (without scanning the whole keyspace)."""

    @abc.abstractmethod
    async def snapshot(
        self, max_bytes: int | None = None, rank: Callable[[str], int] | None = None
    ) -> LiveSnapshot:
        """The live values as their stored JSON text, cheaper than ``items`` when bounded.

        Only the texts handed out are read whole (on Redis, client keys' sizes come from the
        caps' bookkeeping); each is checked to decode, one that does not reads as missing.
        Keys come ordered by ``(rank(key), key)`` (by name without ``rank``); with
        ``max_bytes``, each is taken in that order while the object they make,
        ``{"live:<key>": value, …}`` (``common.render_object``), stays within it, and the
        rest are counted in ``omitted``.
        """

    @abc.abstractmethod
    async def stats(self) -> LiveStats:
        """How many keys live, and how much of the caps the client keys use."""

    @abc.abstractmethod
    async def ttl(self, key: str) -> float | None:
        """Seconds until ``live:<key>`` expires, or ``None`` when it is missing."""

    @abc.abstractmethod
    async def claim(self, name: str, ttl: float) -> bool:
        """Take ``name`` for ``ttl`` seconds if nobody holds it (Redis ``SET NX EX``).

        Exactly one caller across all processes sharing the store gets ``True``. Claims
        live outside ``live:`` and never appear in ``items``.
        """

    @abc.abstractmethod
    async def ping(self) -> None:
        """Check the backend answers; raise ``StorageUnavailableError`` when not."""


class EventBus(abc.ABC):
    """One channel of events shared by every process. Backends: ``memory.MemoryEventBus``,
    ``redis_events.RedisEventBus``."""

    @abc.abstractmethod
    async def publish(self, event: Event) -> None:
        """Send ``event`` to every subscriber, in every process sharing the bus."""

    @abc.abstractmethod
    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """``async with bus.subscribe() as events: async for event in events: …``

        Events published after the context is entered are delivered, in order.
        """


class LiveStore(abc.ABC):
    """Values and events of one backend, opened and closed together (on Redis they share
    one connection pool). Only the composition root holds it; services are given
    ``values`` or ``events``, whichever they use. Backends: ``memory.MemoryLiveStore``,
    ``redis.RedisLiveStore``; ``switchable.SwitchableLiveStore`` replaces one at runtime.
    """

    @property
    @abc.abstractmethod
    def values(self) -> ValueStore: ...

    @property
    @abc.abstractmethod
    def events(self) -> EventBus: ...

    @property
    def backend(self) -> str:
        """``memory`` or ``redis``."""
        return self.values.backend

    @property
    def default_ttl(self) -> float:
        return self.values.default_ttl

    @property
    def caps(self) -> LiveCaps:
        return self.values.caps

    async def ping(self) -> None:
        """Check the backend answers; raise ``StorageUnavailableError`` when not."""
        await self.values.ping()

    @abc.abstractmethod
    async def aclose(self) -> None:
        """End every subscription, refuse further work (``StorageUnavailableError``), and
        release connections. Closing twice is harmless."""
