"""The live store: short-lived values under ``live:<key>`` and one channel of events.

Values are JSON (anything ``json.dumps`` takes). Every value expires: after ``ttl``
seconds (300 unless told otherwise) it is gone from ``get`` and ``items``. Events are JSON
objects; each is delivered to every subscriber of every process sharing the store (one
Redis), in publish order, or not at all to a subscriber that was not subscribed yet.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

JSON = Any
"""A JSON value: dict, list, str, int, float, bool or None."""
Event = dict[str, Any]

LIVE_PREFIX = "live:"


class LiveStore(abc.ABC):
    """Shared short-lived state and events. Backends: ``memory.MemoryLiveStore``, ``redis.RedisLiveStore``."""

    def __init__(self, default_ttl: float = 300.0) -> None:
        self.default_ttl = default_ttl

    @property
    @abc.abstractmethod
    def backend(self) -> str:
        """``memory`` or ``redis``."""

    @abc.abstractmethod
    async def get(self, key: str) -> JSON | None:
        """The value at ``live:<key>``, or ``None`` when missing or expired."""

    @abc.abstractmethod
    async def set(self, key: str, value: JSON, ttl: float | None = None) -> None:
        """Store ``value`` at ``live:<key>`` for ``ttl`` seconds (``default_ttl`` when ``None``)."""

    @abc.abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove ``live:<key>``; whether it was there."""

    @abc.abstractmethod
    async def items(self) -> dict[str, JSON]:
        """Every live value, keyed ``live:<key>`` (without scanning the whole keyspace)."""

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
    async def publish(self, event: Event) -> None:
        """Send ``event`` to every subscriber, in every process sharing the store."""

    @abc.abstractmethod
    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """``async with store.subscribe() as events: async for event in events: …``

        Events published after the context is entered are delivered, in order.
        """

    @abc.abstractmethod
    async def ping(self) -> None:
        """Check the backend answers; raise ``StorageUnavailableError`` when not."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release connections and end every subscription."""
