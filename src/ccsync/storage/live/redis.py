"""The live store on Redis: ``RedisValueStore`` and ``RedisEventBus`` on one connection.

Shared by every replica that uses the same Redis and prefix. The layout of the values is
in ``redis_values``, the channel in ``redis_events``, the failure rules in
``redis_connection``.
"""

from __future__ import annotations

from ccsync.storage.live.base import LiveCaps, LiveStore
from ccsync.storage.live.common import MAX_PENDING
from ccsync.storage.live.redis_connection import RedisConnection
from ccsync.storage.live.redis_events import RedisEventBus
from ccsync.storage.live.redis_values import RedisValueStore


class RedisLiveStore(LiveStore):
    """Live values and events in Redis (``redis://``, ``rediss://``, ``unix://``).

    One connection pool serves both, plus one connection per open subscription; ``aclose``
    ends the subscriptions, then closes the pool.
    """

    def __init__(
        self,
        url: str,
        default_ttl: float = 300.0,
        prefix: str = "",
        *,
        caps: LiveCaps | None = None,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.connection = RedisConnection(url, prefix)
        self._values = RedisValueStore(self.connection, default_ttl, caps)
        self._events = RedisEventBus(self.connection, max_pending=max_pending)

    @property
    def url(self) -> str:
        return self.connection.url

    @property
    def prefix(self) -> str:
        return self.connection.prefix

    @property
    def values(self) -> RedisValueStore:
        return self._values

    @property
    def events(self) -> RedisEventBus:
        return self._events

    async def aclose(self) -> None:
        await self._events.aclose()
        await self.connection.aclose()
