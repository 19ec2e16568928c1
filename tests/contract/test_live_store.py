"""The live store as a whole (``LiveStore``): its values and events share one backend,
one lifecycle (``ping``, ``aclose``) and one URL; a Redis that fails says so in one line,
without the password. Each role has its own suite: ``test_value_store.py``,
``test_event_bus.py``.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from ccsync.storage import StorageUnavailableError
from ccsync.storage.live import LiveStore, open_live_store
from ccsync.storage.live.base import Event
from ccsync.storage.live.memory import MemoryLiveStore
from ccsync.storage.live.redis import RedisLiveStore
from ccsync.storage.live.switchable import SwitchableLiveStore

from .conftest import DEFAULT_TTL

DEAD_REDIS = "redis://:secret@127.0.0.1:1/0"


async def test_aclose_ends_subscriptions_and_refuses_work(live_store: LiveStore) -> None:
    received: asyncio.Queue[Event] = asyncio.Queue()
    subscribed = asyncio.Event()

    async def listen() -> None:
        async with live_store.events.subscribe() as events:
            subscribed.set()
            async for event in events:
                received.put_nowait(event)

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(subscribed.wait(), 2)
    await live_store.events.publish({"n": 1})
    assert await asyncio.wait_for(received.get(), 2) == {"n": 1}
    await live_store.aclose()
    await asyncio.wait_for(listener, 2)  # the iteration ended by itself
    assert received.empty()
    with pytest.raises(StorageUnavailableError):
        await live_store.ping()
    with pytest.raises(StorageUnavailableError):
        await live_store.values.get("k")
    with pytest.raises(StorageUnavailableError):
        async with live_store.events.subscribe():
            pass
    await live_store.aclose()  # closing twice is harmless


async def test_ping_answers(live_store: LiveStore) -> None:
    await live_store.ping()
    assert live_store.backend in {"memory", "redis"}


# A Redis that fails


async def test_dead_redis_is_unavailable_quickly_without_the_password() -> None:
    store = RedisLiveStore(DEAD_REDIS, DEFAULT_TTL, "dead:")
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailableError) as raised:
            await store.ping()
        assert time.monotonic() - started < 2.5
        message = str(raised.value)
        assert "\n" not in message
        assert "secret" not in message
        assert "redis://:***@127.0.0.1:1/0" in message
        with pytest.raises(StorageUnavailableError, match=r"127\.0\.0\.1:1"):
            await store.values.set("k", 1)
        with pytest.raises(StorageUnavailableError):
            await store.values.items()
        with pytest.raises(StorageUnavailableError):
            await store.events.publish({"n": 1})
        with pytest.raises(StorageUnavailableError):
            async with store.events.subscribe():
                pass
    finally:
        await store.aclose()


async def test_a_server_that_never_answers_times_out() -> None:
    connections: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    store = RedisLiveStore(f"redis://127.0.0.1:{port}/0", DEFAULT_TTL)
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailableError, match="no answer within 2 s"):
            await store.ping()
        assert 1.5 < time.monotonic() - started < 3
    finally:
        await store.aclose()
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_password_in_the_query_is_hidden_too() -> None:
    store = RedisLiveStore("unix:///nonexistent/redis.sock?db=0&password=s3cr%40t", DEFAULT_TTL)
    try:
        with pytest.raises(StorageUnavailableError) as raised:
            await store.ping()
        message = str(raised.value)
        assert "/nonexistent/redis.sock" in message
        assert "s3cr" not in message and "\n" not in message
    finally:
        await store.aclose()


@pytest.mark.services
async def test_wrong_password_is_unavailable(redis_url: str) -> None:
    scheme, _, location = redis_url.partition("://")
    store = RedisLiveStore(f"{scheme}://nobody:wrong-secret@{location}", DEFAULT_TTL, "auth:")
    try:
        with pytest.raises(StorageUnavailableError) as raised:
            await store.ping()
        assert "wrong-secret" not in str(raised.value)
        assert "\n" not in str(raised.value)
    finally:
        await store.aclose()


# Choosing a backend by URL


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("memory://", "memory"),
        ("", "memory"),
        ("redis://127.0.0.1:6379/0", "redis"),
        ("rediss://user:pw@cache.example:6380/1", "redis"),
        ("unix:///run/redis/redis.sock?db=2", "redis"),
    ],
)
async def test_open_live_store_chooses_by_scheme(url: str, backend: str) -> None:
    store = open_live_store(url, 42.0, "pre:")
    try:
        assert store.backend == backend
        assert store.default_ttl == 42.0
        if isinstance(store, RedisLiveStore):
            assert store.prefix == "pre:"
            assert store.url == url
        else:
            assert isinstance(store, MemoryLiveStore)
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    "url", ["postgresql://u:hunter2@db/x", "sqlite:///live.db", "localhost:6379", "memory"]
)
def test_open_live_store_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported live store URL") as raised:
        open_live_store(url)
    assert "hunter2" not in str(raised.value)


# Switching the backend while the server runs


async def test_a_switch_carries_values_over_and_subscriptions_follow() -> None:
    old = MemoryLiveStore(DEFAULT_TTL)
    new = MemoryLiveStore(DEFAULT_TTL)
    live = SwitchableLiveStore(old)
    values, bus = live.values, live.events
    await values.set("kept", {"v": 1}, ttl=30)
    received: asyncio.Queue[Event] = asyncio.Queue()
    subscribed = asyncio.Event()

    async def listen() -> None:
        async with bus.subscribe() as events:
            subscribed.set()
            async for event in events:
                received.put_nowait(event)

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(subscribed.wait(), 2)
    await bus.publish({"n": 1})
    assert await asyncio.wait_for(received.get(), 2) == {"n": 1}
    await live.switch(new)
    assert live.current is new
    assert await new.values.get("kept") == {"v": 1}  # carried over, with its time left
    remaining = await new.values.ttl("kept")
    assert remaining is not None and 25 < remaining <= 30
    with pytest.raises(StorageUnavailableError):
        await old.values.get("kept")  # the old backend is closed
    for _ in range(100):  # the subscription moves on to the new backend
        await bus.publish({"n": 2})
        try:
            assert await asyncio.wait_for(received.get(), 0.05) == {"n": 2}
            break
        except TimeoutError:
            continue
    else:
        pytest.fail("the subscription did not follow the switch")
    await live.aclose()
    await asyncio.wait_for(listener, 2)  # closing the store ends the subscription
    with pytest.raises(StorageUnavailableError):
        await values.get("kept")
