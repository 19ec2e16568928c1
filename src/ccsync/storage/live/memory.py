"""The in-process live store: ``MemoryValueStore`` and ``MemoryEventBus``.

``MemoryValueStore`` keeps values as UTF-8 JSON text with a deadline on an injectable
monotonic clock; an expired value is dropped the next time it is looked at.
``MemoryEventBus`` hands each subscriber its own copy of each event. Together
(``MemoryLiveStore``) they behave like one Redis seen by a single process: same JSON round
trip (a stored value is a copy; tuples come back as lists; anything that is not JSON, NaN
and lone surrogates included, is refused), same caps, same ``SET NX PX`` claims, same
event order. They are never laxer than Redis.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from ccsync.storage import StorageUnavailableError
from ccsync.storage.live.base import (
    JSON,
    LIVE_PREFIX,
    Event,
    EventBus,
    LiveCaps,
    LiveSnapshot,
    LiveStats,
    LiveStore,
    ValueStore,
)
from ccsync.storage.live.common import (
    MAX_PENDING,
    EventQueue,
    check_caps,
    decode,
    encode,
    encode_event,
    milliseconds,
    ordered,
    store_full,
    within,
)


class MemoryValueStore(ValueStore):
    """Live values in this process only (one server, or tests).

    ``clock`` is a monotonic clock in seconds; tests pass their own to expire values
    without sleeping.
    """

    def __init__(
        self,
        default_ttl: float = 300.0,
        *,
        caps: LiveCaps | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(default_ttl, caps)
        self._clock = clock
        self._values: dict[str, tuple[bytes, float]] = {}
        self._claims: dict[str, float] = {}
        self._closed = False
        # The client keys' sizes and total, and their deadlines (stale entries included:
        # an entry counts only while it matches the key's current deadline).
        self._client_sizes: dict[str, int] = {}
        self._client_bytes = 0
        self._deadlines: list[tuple[float, str]] = []

    @property
    def backend(self) -> str:
        return "memory"

    def _check_open(self) -> None:
        if self._closed:
            raise StorageUnavailableError("the memory live store is closed")

    def _drop(self, key: str) -> None:
        self._values.pop(key, None)
        size = self._client_sizes.pop(key, None)
        if size is not None:
            self._client_bytes -= size

    def _live(self, key: str) -> bytes | None:
        """The JSON text at ``key`` when it has not expired; an expired entry is dropped."""
        entry = self._values.get(key)
        if entry is None:
            return None
        text, deadline = entry
        if self._clock() >= deadline:
            self._drop(key)
            return None
        return text

    def _expire_clients(self) -> None:
        """Drop the client keys whose deadline passed, so they stop counting."""
        now = self._clock()
        while self._deadlines and self._deadlines[0][0] <= now:
            deadline, key = heapq.heappop(self._deadlines)
            entry = self._values.get(key)
            if entry is not None and entry[1] == deadline:
                self._drop(key)
        if len(self._deadlines) > 2 * len(self._client_sizes) + 1024:  # overwritten keys
            self._deadlines = [
                (self._values[key][1], key) for key in self._client_sizes if key in self._values
            ]
            heapq.heapify(self._deadlines)

    async def get(self, key: str) -> JSON | None:
        self._check_open()
        text = self._live(key)
        return None if text is None else decode(text)

    async def get_many(self, keys: Sequence[str]) -> list[JSON | None]:
        self._check_open()
        texts = [self._live(key) for key in keys]
        return [None if text is None else decode(text) for text in texts]

    async def set(self, key: str, value: JSON, ttl: float | None = None) -> None:
        self._check_open()
        seconds = self.default_ttl if ttl is None else ttl
        milliseconds(seconds)  # the same TTL rules as Redis
        text = encode(value)
        check_caps(self.caps, key, len(text))
        deadline = self._clock() + seconds
        if not self.caps.exempt(key):
            self._expire_clients()
            self._live(key)  # an expired value no longer counts
            old = self._client_sizes.get(key)
            others = len(self._client_sizes) - (old is not None)
            full = store_full(self.caps, others, self._client_bytes - (old or 0), len(text))
            if full is not None:
                raise full
            self._client_bytes += len(text) - (old or 0)
            self._client_sizes[key] = len(text)
            heapq.heappush(self._deadlines, (deadline, key))
        self._values[key] = (text, deadline)

    async def delete(self, key: str) -> bool:
        self._check_open()
        found = self._live(key) is not None
        self._drop(key)
        return found

    def _purge(self) -> None:
        now = self._clock()
        for key in [key for key, (_, deadline) in self._values.items() if now >= deadline]:
            self._drop(key)

    async def items(self) -> dict[str, JSON]:
        self._check_open()
        self._purge()
        return {LIVE_PREFIX + key: decode(text) for key, (text, _) in self._values.items()}

    async def snapshot(
        self, max_bytes: int | None = None, rank: Callable[[str], int] | None = None
    ) -> LiveSnapshot:
        self._check_open()
        self._purge()
        keys = ordered(self._values, rank)
        taken, omitted = within(((key, len(self._values[key][0])) for key in keys), max_bytes)
        return LiveSnapshot({key: self._values[key][0] for key in taken}, omitted)

    async def stats(self) -> LiveStats:
        self._check_open()
        self._purge()
        return LiveStats(len(self._values), len(self._client_sizes), self._client_bytes)

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

    async def ping(self) -> None:
        self._check_open()

    async def aclose(self) -> None:
        """Forget every value and claim, and refuse further work."""
        self._closed = True
        self._values.clear()
        self._claims.clear()
        self._client_sizes.clear()
        self._client_bytes = 0
        self._deadlines.clear()


class MemoryEventBus(EventBus):
    """Events in this process only.

    Each subscriber has its own ``EventQueue`` of ``max_pending`` events: a subscriber that
    falls further behind loses its oldest events, and the publisher never waits.
    """

    def __init__(self, *, max_pending: int = MAX_PENDING) -> None:
        self._max_pending = max_pending
        self._subscribers: set[EventQueue] = set()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StorageUnavailableError("the memory event bus is closed")

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

    async def aclose(self) -> None:
        """End every subscription, and refuse further work."""
        self._closed = True
        for queue in self._subscribers:
            queue.close()
        self._subscribers.clear()


class MemoryLiveStore(LiveStore):
    """``MemoryValueStore`` and ``MemoryEventBus`` together: this process only."""

    def __init__(
        self,
        default_ttl: float = 300.0,
        *,
        caps: LiveCaps | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._values = MemoryValueStore(default_ttl, caps=caps, clock=clock)
        self._events = MemoryEventBus(max_pending=max_pending)

    @property
    def values(self) -> MemoryValueStore:
        return self._values

    @property
    def events(self) -> MemoryEventBus:
        return self._events

    async def aclose(self) -> None:
        await self._events.aclose()
        await self._values.aclose()
