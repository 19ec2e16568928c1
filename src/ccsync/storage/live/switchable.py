"""A live store whose backend can be replaced while the server runs (``PUT /api/config/redis``).

Callers hold this one object. ``switch`` copies the live values (with their remaining
time) to the new backend, makes it current, and closes the old one; subscriptions end with
the old backend and continue on the new one without the subscriber noticing.
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
    LiveCapError,
    LiveSnapshot,
    LiveStats,
    LiveStore,
)

log = logging.getLogger("ccsync.live")


class SwitchableLiveStore(LiveStore):
    def __init__(self, current: LiveStore) -> None:
        super().__init__(current.default_ttl, current.caps)
        self.current = current
        self._closed = asyncio.Event()

    @property
    def backend(self) -> str:
        return self.current.backend

    async def get(self, key: str) -> JSON | None:
        return await self.current.get(key)

    async def get_many(self, keys: Sequence[str]) -> list[JSON | None]:
        return await self.current.get_many(keys)

    async def set(self, key: str, value: JSON, ttl: float | None = None) -> None:
        await self.current.set(key, value, ttl)

    async def delete(self, key: str) -> bool:
        return await self.current.delete(key)

    async def items(self) -> dict[str, JSON]:
        return await self.current.items()

    async def snapshot(
        self, max_bytes: int | None = None, rank: Callable[[str], int] | None = None
    ) -> LiveSnapshot:
        return await self.current.snapshot(max_bytes, rank)

    async def stats(self) -> LiveStats:
        return await self.current.stats()

    async def ttl(self, key: str) -> float | None:
        return await self.current.ttl(key)

    async def claim(self, name: str, ttl: float) -> bool:
        return await self.current.claim(name, ttl)

    async def publish(self, event: Event) -> None:
        await self.current.publish(event)

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        return self._subscribe()

    @asynccontextmanager
    async def _subscribe(self) -> AsyncIterator[AsyncIterator[Event]]:
        yield self._follow()

    async def _follow(self) -> AsyncIterator[Event]:
        while not self._closed.is_set():
            store = self.current
            async with store.subscribe() as stream:
                async for event in stream:
                    yield event
            if store is self.current:  # ended by its own close, not by a switch
                return

    async def switch(self, new: LiveStore) -> None:
        """Make ``new`` current (it must answer ``ping``) and close the old backend."""
        await new.ping()
        old = self.current
        for prefixed, value in (await old.items()).items():
            key = prefixed.removeprefix(LIVE_PREFIX)
            remaining = await old.ttl(key)
            if remaining is not None and remaining > 0:
                try:
                    await new.set(key, value, remaining)
                except LiveCapError as exc:  # the new backend is fuller: the key is lost
                    log.warning("live.not_carried_over", extra={"key": key, "error": str(exc)})
        self.current = new
        self.caps = new.caps
        await old.aclose()

    async def ping(self) -> None:
        await self.current.ping()

    async def aclose(self) -> None:
        self._closed.set()
        await self.current.aclose()
