"""The in-process live store.

``MemoryLiveStore`` keeps values as JSON text with a deadline on an injectable monotonic
clock; an expired value is dropped the next time it is looked at. It behaves like one
Redis seen by a single process: same JSON round trip (a stored value is a copy; tuples
come back as lists; anything ``json`` cannot encode, NaN included, is refused), same
``SET NX PX`` claims, same event order. It is never laxer than Redis.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from ccsync.storage import StorageUnavailableError
from ccsync.storage.live.base import JSON, LIVE_PREFIX, Event, LiveStore
from ccsync.storage.live.common import (
    MAX_PENDING,
    EventQueue,
    decode,
    encode,
    encode_event,
    milliseconds,
)


class MemoryLiveStore(LiveStore):
    """Live values and events in this process only (one server, or tests).

    ``clock`` is a monotonic clock in seconds; tests pass their own to expire values
    without sleeping. Each subscriber has its own ``EventQueue`` of ``max_pending``
    events: a subscriber that falls further behind loses its oldest events, and the
    publisher never waits.
    """

    def __init__(
        self,
        default_ttl: float = 300.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_pending: int = MAX_PENDING,
    ) -> None:
        super().__init__(default_ttl)
        self._clock = clock
        self._max_pending = max_pending
        self._values: dict[str, tuple[str, float]] = {}
        self._claims: dict[str, float] = {}
        self._subscribers: set[EventQueue] = set()
        self._closed = False

    @property
    def backend(self) -> str:
        return "memory"

    def _check_open(self) -> None:
        if self._closed:
            raise StorageUnavailableError("the memory live store is closed")

    def _live(self, key: str) -> str | None:
        """The JSON text at ``key`` when it has not expired; an expired entry is dropped."""
        entry = self._values.get(key)
        if entry is None:
            return None
        text, deadline = entry
        if self._clock() >= deadline:
            del self._values[key]
            return None
        return text

    async def get(self, key: str) -> JSON | None:
        self._check_open()
        text = self._live(key)
        return None if text is None else decode(text)

    async def set(self, key: str, value: JSON, ttl: float | None = None) -> None:
        self._check_open()
        seconds = self.default_ttl if ttl is None else ttl
        milliseconds(seconds)  # the same TTL rules as Redis
        self._values[key] = (encode(value), self._clock() + seconds)

    async def delete(self, key: str) -> bool:
        self._check_open()
        found = self._live(key) is not None
        self._values.pop(key, None)
        return found

    async def items(self) -> dict[str, JSON]:
        self._check_open()
        now = self._clock()
        expired = [key for key, (_, deadline) in self._values.items() if now >= deadline]
        for key in expired:
            del self._values[key]
        return {LIVE_PREFIX + key: decode(text) for key, (text, _) in self._values.items()}

    async def ttl(self, key: str) -> float | None:
        self._check_open()
        if self._live(key) is None:
            return None
        return max(0.0, self._values[key][1] - self._clock())

    async def claim(self, name: str, ttl: float) -> bool:
        self._check_open()
        milliseconds(ttl)
        now = self._clock()
        self._claims = {held: until for held, until in self._claims.items() if now < until}
        if name in self._claims:
            return False
        self._claims[name] = now + ttl
        return True

    async def publish(self, event: Event) -> None:
        self._check_open()
        text = encode_event(event)
        for queue in self._subscribers:
            queue.put(decode(text))  # a copy each: subscribers cannot change each other's

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        return self._subscribe()

    @asynccontextmanager
    async def _subscribe(self) -> AsyncIterator[AsyncIterator[Event]]:
        self._check_open()
        queue = EventQueue(self._max_pending)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)
            queue.close()

    async def ping(self) -> None:
        self._check_open()

    async def aclose(self) -> None:
        self._closed = True
        for queue in self._subscribers:
            queue.close()
        self._subscribers.clear()
        self._values.clear()
        self._claims.clear()
