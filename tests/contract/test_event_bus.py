"""The event bus contract (``EventBus``): one suite, run against the memory and the Redis
backend. Each event reaches every subscriber, in publish order, as its own copy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest

from ccsync.storage.live import EventBus, LiveStore
from ccsync.storage.live.base import Event
from ccsync.storage.live.memory import MemoryEventBus
from ccsync.storage.live.redis import RedisLiveStore

from .conftest import DEFAULT_TTL, LiveFactory


@pytest.fixture
def bus(live_store: LiveStore) -> EventBus:
    return live_store.events


async def take(events: AsyncIterator[Event], count: int) -> list[Event]:
    """The next ``count`` events, failing the test if they take more than 2 s."""
    async with asyncio.timeout(2):
        return [await anext(events) for _ in range(count)]


async def assert_quiet(events: AsyncIterator[Event]) -> None:
    """Nothing more arrives for a while."""
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await anext(events)


# Events


async def test_events_arrive_in_publish_order(bus: EventBus) -> None:
    sent = [{"type": "tick", "n": n, "data": {"list": [n, None]}} for n in range(200)]
    async with bus.subscribe() as events:
        for event in sent:
            await bus.publish(event)
        assert await take(events, len(sent)) == sent
        await assert_quiet(events)


async def test_every_subscriber_gets_every_event(bus: EventBus) -> None:
    async with bus.subscribe() as first, bus.subscribe() as second:
        for n in range(3):
            await bus.publish({"n": n})
        got_first = await take(first, 3)
        got_second = await take(second, 3)
    assert got_first == got_second == [{"n": 0}, {"n": 1}, {"n": 2}]


async def test_subscribers_get_their_own_copy(bus: EventBus) -> None:
    async with bus.subscribe() as first, bus.subscribe() as second:
        event = {"data": {"n": 1}}
        await bus.publish(event)
        event["data"]["n"] = 2
        (mine,) = await take(first, 1)
        mine["data"]["n"] = 3
        assert await take(second, 1) == [{"data": {"n": 1}}]


async def test_events_before_subscribing_are_not_delivered(bus: EventBus) -> None:
    await bus.publish({"n": "early"})
    async with bus.subscribe() as events:
        await bus.publish({"n": "late"})
        assert await take(events, 1) == [{"n": "late"}]
        await assert_quiet(events)


async def test_leaving_the_context_stops_delivery(bus: EventBus) -> None:
    async with bus.subscribe() as kept:
        async with bus.subscribe() as left:
            await bus.publish({"n": 1})
            assert await take(left, 1) == [{"n": 1}]
            await bus.publish({"n": 2})  # not read before leaving: dropped
            assert await take(kept, 2) == [{"n": 1}, {"n": 2}]
        await bus.publish({"n": 3})
        assert await take(kept, 1) == [{"n": 3}]
    assert [event async for event in left] == []


@pytest.mark.parametrize("event", [[1, 2], "text", None, {"bad": object()}])
async def test_events_must_be_json_objects(bus: EventBus, event: Any) -> None:
    async with bus.subscribe() as events:
        with pytest.raises((TypeError, ValueError)):
            await bus.publish(event)
        await bus.publish({"ok": True})
        assert await take(events, 1) == [{"ok": True}]


# Memory only: the overflow policy


async def test_memory_slow_subscriber_loses_its_oldest_events() -> None:
    store = MemoryEventBus(max_pending=3)
    async with store.subscribe() as slow, store.subscribe() as fast:
        for n in range(5):
            await store.publish({"n": n})  # never waits for the slow subscriber
            assert await take(fast, 1) == [{"n": n}]
        assert await take(slow, 3) == [{"n": 2}, {"n": 3}, {"n": 4}]
        await assert_quiet(slow)
    await store.aclose()


# Redis only: replicas, a slow link, garbage on the channel


@pytest.mark.services
async def test_replicas_share_events(redis_replicas: LiveFactory) -> None:
    first, second = (await redis_replicas()).events, (await redis_replicas()).events
    async with first.subscribe() as on_first, second.subscribe() as on_second:
        await second.publish({"from": "second"})
        await first.publish({"from": "first"})
        expected = [{"from": "second"}, {"from": "first"}]
        assert await take(on_first, 2) == expected
        assert await take(on_second, 2) == expected


@asynccontextmanager
async def slow_link(url: str, delay: float) -> AsyncIterator[str]:
    """A URL for the Redis at ``url`` through a proxy that delays what clients send."""
    target = urlsplit(url)
    assert target.scheme == "redis" and target.hostname and target.port
    host, port = target.hostname, target.port
    handlers: set[asyncio.Task[Any]] = set()

    async def forward(source: asyncio.StreamReader, sink: asyncio.StreamWriter, lag: float) -> None:
        try:
            while data := await source.read(65536):
                await asyncio.sleep(lag)
                sink.write(data)
                await sink.drain()
        finally:
            sink.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        server_reader, server_writer = await asyncio.open_connection(host, port)
        await asyncio.gather(
            forward(reader, server_writer, delay),
            forward(server_reader, writer, 0),
            return_exceptions=True,
        )

    proxy = await asyncio.start_server(handle, "127.0.0.1", 0)
    proxy_port = proxy.sockets[0].getsockname()[1]
    credentials = target.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{proxy_port}" if credentials else f"127.0.0.1:{proxy_port}"
    try:
        yield target._replace(netloc=netloc).geturl()
    finally:
        proxy.close()
        for task in handlers:
            task.cancel()
        if handlers:
            await asyncio.wait(handlers)
        await proxy.wait_closed()


@pytest.mark.services
async def test_subscription_is_confirmed_before_the_context_is_entered(
    redis_url: str, redis_prefix: str
) -> None:
    """A subscriber far from Redis still gets an event a nearby replica publishes at once."""
    near = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix)
    async with slow_link(redis_url, 0.15) as far_url:
        far = RedisLiveStore(far_url, DEFAULT_TTL, redis_prefix)
        try:
            await far.ping()
            async with far.events.subscribe() as events:
                await near.events.publish({"n": 1})
                assert await take(events, 1) == [{"n": 1}]
        finally:
            await far.aclose()
            await near.aclose()


@pytest.mark.services
async def test_prefixes_keep_events_apart(redis_url: str, redis_prefix: str) -> None:
    mine = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix)
    other = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix + "other:")
    try:
        async with other.events.subscribe() as events:
            await mine.events.publish({"n": 1})
            await assert_quiet(events)
    finally:
        await mine.aclose()
        await other.aclose()


@pytest.mark.services
async def test_garbage_on_the_channel_is_skipped(redis_url: str, redis_prefix: str) -> None:
    import redis.asyncio

    store = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix)
    raw = redis.asyncio.Redis.from_url(redis_url)
    try:
        async with store.events.subscribe() as events:
            for garbage in [b"not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"{"]:
                await raw.publish(f"{redis_prefix}events", garbage)
            await store.events.publish({"n": 1})
            assert await take(events, 1) == [{"n": 1}]
            await assert_quiet(events)
    finally:
        await store.aclose()
        await raw.aclose()
