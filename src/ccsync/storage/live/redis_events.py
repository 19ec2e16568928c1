"""Events on Redis pub/sub: one channel, ``<prefix>events``; each event is one JSON message.

Every replica that uses the same Redis and prefix publishes to and hears the same channel.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from ccsync.storage.live.base import Event, EventBus
from ccsync.storage.live.common import MAX_PENDING, EventQueue, decode, encode_event
from ccsync.storage.live.redis_connection import CONNECT_TIMEOUT, RedisConnection

if TYPE_CHECKING:
    from redis.asyncio.client import PubSub


class RedisEventBus(EventBus):
    """Events over a ``RedisConnection``: publishing uses its pool, each open subscription
    one connection of its own, closed by ``aclose``. A subscriber that falls
    ``max_pending`` events behind loses the oldest ones, as with the memory bus.
    """

    def __init__(self, connection: RedisConnection, *, max_pending: int = MAX_PENDING) -> None:
        self.connection = connection
        self._max_pending = max_pending
        self._subscriptions: set[_Subscription] = set()
        self._closed = False

    @property
    def channel(self) -> str:
        return self.connection.name("events")

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        if self._closed:
            raise self.connection.closed_error()
        async with self.connection.guard():
            yield

    async def publish(self, event: Event) -> None:
        text = encode_event(event)
        async with self._guard():
            await self.connection.client.publish(self.channel, text)

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        return self._subscribe()

    @asynccontextmanager
    async def _subscribe(self) -> AsyncIterator[AsyncIterator[Event]]:
        """Subscribe, and wait for Redis to confirm before yielding.

        Once confirmed, Redis delivers every later ``PUBLISH`` on the channel, so an event
        published right after the context is entered cannot be missed.
        """
        subscription = _Subscription(
            self.connection, self.connection.client.pubsub(), EventQueue(self._max_pending)
        )
        self._subscriptions.add(subscription)
        try:
            async with self._guard():
                await subscription.start(self.channel)
            yield subscription.queue
        finally:
            self._subscriptions.discard(subscription)
            await subscription.close()

    async def aclose(self) -> None:
        """End every subscription, and refuse further work (the connection stays open)."""
        self._closed = True
        for subscription in list(self._subscriptions):
            await subscription.close()
        self._subscriptions.clear()


class _Subscription:
    """One ``SUBSCRIBE`` connection; a task moves its messages into ``queue``."""

    def __init__(self, connection: RedisConnection, pubsub: PubSub, queue: EventQueue) -> None:
        self.connection = connection
        self.pubsub = pubsub
        self.queue = queue
        self.task: asyncio.Task[None] | None = None
        self.closed = False

    async def start(self, channel: str) -> None:
        """Subscribe, wait for the confirmation, then start moving messages."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await self.pubsub.subscribe(channel)
                while True:
                    message = await self.pubsub.get_message(timeout=CONNECT_TIMEOUT)
                    if message is not None and message["type"] == "subscribe":
                        break
        except Exception as exc:
            if self.closed:  # the bus closed while we waited: its connection is gone
                raise self.connection.closed_error() from exc
            raise
        if self.closed:
            raise self.connection.closed_error()
        self.task = asyncio.create_task(self._pump(), name=f"live-events:{channel}")

    async def _pump(self) -> None:
        try:
            while True:
                message = await self.pubsub.get_message(timeout=None)
                event = _event(message)
                if event is not None:
                    self.queue.put(event)
        except Exception as exc:
            self.queue.fail(self.connection.failure(exc))

    async def close(self) -> None:
        self.closed = True
        self.queue.close()
        if self.task is not None:
            self.task.cancel()
            await asyncio.wait([self.task])
        await self.pubsub.aclose()  # type: ignore[no-untyped-call]


def _event(message: dict[str, Any] | None) -> Event | None:
    """The event in a pub/sub message; ``None`` for anything else, garbage included."""
    if message is None or message["type"] != "message":
        return None
    try:
        event = decode(message["data"])
    except ValueError:  # not JSON, or not UTF-8
        return None
    return event if isinstance(event, dict) else None
