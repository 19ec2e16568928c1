"""A live store whose backend can be replaced while the server runs (``PUT /api/config/redis``).

Services hold its ``values`` and ``events``, which always reach the current backend.
``switch`` copies the live values (with their remaining time) to the new backend, makes it
current, and closes the old one; subscriptions end with the old backend and continue on
the new one without the subscriber noticing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from ccsync.storage.live.base import (
    JSON,
    LIVE_PREFIX,
    Event,
    EventBus,
    LiveCapError,
    LiveSnapshot,
    LiveStats,
    LiveStore,
    ValueStore,
)

log = logging.getLogger("ccsync.live")


class SwitchableLiveStore(LiveStore):
    def __init__(self, current: LiveStore) -> None:
        self.current = current
        self._closed = asyncio.Event()
        self._values = _CurrentValues(self)
        self._events = _CurrentEvents(self)

    @property
    def values(self) -> ValueStore:
        return self._values

    @property
    def events(self) -> EventBus:
        return self._events

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def switch(self, new: LiveStore) -> None:
        """Make ``new`` current (it must answer ``ping``) and close the old backend."""
        await new.ping()
        old = self.current
        for prefixed, value in (await old.values.items()).items():
            key = prefixed.removeprefix(LIVE_PREFIX)
            remaining = await old.values.ttl(key)
            if remaining is not None and remaining > 0:
                try:
                    await new.values.set(key, value, remaining)
                except LiveCapError as exc:  # the new backend is fuller: the key is lost
                    log.warning("live.not_carried_over", extra={"key": key, "error": str(exc)})
        self.current = new
        self._values.caps = new.caps
        await old.aclose()

    async def ping(self) -> None:
        await self.current.ping()

    async def aclose(self) -> None:
        self._closed.set()
        await self.current.aclose()


class _CurrentValues(ValueStore):
    """The values of whichever backend is current."""

    def __init__(self, store: SwitchableLiveStore) -> None:
        super().__init__(store.current.default_ttl, store.current.caps)
        self._store = store

    @property
    def _current(self) -> ValueStore:
        return self._store.current.values

    @property
    def backend(self) -> str:
        return self._current.backend

    async def get(self, key: str) -> JSON | None:
        return await self._current.get(key)

    async def get_many(self, keys: Sequence[str]) -> list[JSON | None]:
        return await self._current.get_many(keys)

    async def set(self, key: str, value: JSON, ttl: float | None = None) -> None:
        await self._current.set(key, value, ttl)

    async def delete(self, key: str) -> bool:
        return await self._current.delete(key)

    async def items(self) -> dict[str, JSON]:
        return await self._current.items()

    async def snapshot(
        self, max_bytes: int | None = None, rank: Callable[[str], int] | None = None
    ) -> LiveSnapshot:
        return await self._current.snapshot(max_bytes, rank)

    async def stats(self) -> LiveStats:
        return await self._current.stats()

    async def ttl(self, key: str) -> float | None:
        return await self._current.ttl(key)

    async def claim(self, name: str, ttl: float) -> bool:
        return await self._current.claim(name, ttl)

    async def ping(self) -> None:
        await self._current.ping()


class _CurrentEvents(EventBus):
    """The events of whichever backend is current; a subscription follows switches."""

    def __init__(self, store: SwitchableLiveStore) -> None:
        self._store = store

    async def publish(self, event: Event) -> None:
        await self._store.current.events.publish(event)

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        return self._subscribe()

    @asynccontextmanager
    async def _subscribe(self) -> AsyncIterator[AsyncIterator[Event]]:
        yield self._follow()

    async def _follow(self) -> AsyncIterator[Event]:
        store = self._store
        while not store.closed:
            current = store.current
            async with current.events.subscribe() as stream:
                async for event in stream:
                    yield event
            if current is store.current:  # ended by its own close, not by a switch
                return
