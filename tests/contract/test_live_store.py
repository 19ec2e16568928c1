"""The live store contract: one suite, run against the memory and the Redis backend.

Redis TTLs follow the server's clock, so expiry is tested with real short TTLs (0.2 s);
the memory backend's injectable clock is tested on its own, without sleeping. Anything the
memory store accepts, Redis accepts too: the memory store is never laxer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest

from ccsync.server.live_keys import is_server_owned
from ccsync.storage import StorageUnavailableError
from ccsync.storage.live import LIVE_PREFIX, LiveCaps, LiveStore, open_live_store
from ccsync.storage.live.base import (
    Event,
    LiveSnapshot,
    LiveStats,
    LiveStoreFullError,
    LiveValueTooLargeError,
)
from ccsync.storage.live.common import decode, render_object
from ccsync.storage.live.memory import MemoryLiveStore
from ccsync.storage.live.redis import RedisLiveStore

DEFAULT_TTL = 60.0
SHORT_TTL = 0.2
PAST_SHORT_TTL = 0.35
DEAD_REDIS = "redis://:secret@127.0.0.1:1/0"

StoreFactory = Callable[[], Awaitable[LiveStore]]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
async def live_store(request: pytest.FixtureRequest) -> AsyncIterator[LiveStore]:
    store: LiveStore
    if request.param == "memory":
        store = MemoryLiveStore(DEFAULT_TTL)
    else:
        url = request.getfixturevalue("redis_url")
        store = RedisLiveStore(url, DEFAULT_TTL, request.getfixturevalue("redis_prefix"))
    yield store
    await store.aclose()


SMALL_CAPS = LiveCaps(value_bytes=100, keys=3, total_bytes=250, exempt=is_server_owned)
"""Caps small enough to reach in a test (client keys: any key not owned by the server)."""


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
async def capped_store(request: pytest.FixtureRequest) -> AsyncIterator[LiveStore]:
    store: LiveStore
    if request.param == "memory":
        store = MemoryLiveStore(DEFAULT_TTL, caps=SMALL_CAPS)
    else:
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        store = RedisLiveStore(url, DEFAULT_TTL, prefix, caps=SMALL_CAPS)
    yield store
    await store.aclose()


@pytest.fixture
async def redis_replicas(redis_url: str, redis_prefix: str) -> AsyncIterator[StoreFactory]:
    """Makes stores on the same Redis and prefix, as separate server processes would."""
    stores: list[LiveStore] = []

    async def replica() -> LiveStore:
        store = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix, caps=SMALL_CAPS)
        stores.append(store)
        return store

    yield replica
    for store in stores:
        await store.aclose()


async def take(events: AsyncIterator[Event], count: int) -> list[Event]:
    """The next ``count`` events, failing the test if they take more than 2 s."""
    async with asyncio.timeout(2):
        return [await anext(events) for _ in range(count)]


async def assert_quiet(events: AsyncIterator[Event]) -> None:
    """Nothing more arrives for a while."""
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await anext(events)


# Values


@pytest.mark.parametrize(
    "value",
    [
        {"tokens": 12, "nested": {"list": [1, "two", 3.5, None, True]}},
        [1, [2, [3]], {"a": False}],
        'text with ünïcode and "quotes"',
        "",
        0,
        -(2**53),
        1.5,
        True,
        False,
        {},
        [],
    ],
    ids=repr,
)
async def test_json_values_round_trip(live_store: LiveStore, value: Any) -> None:
    await live_store.set("k", value)
    stored = await live_store.get("k")
    assert stored == value
    assert type(stored) is type(value)
    assert await live_store.items() == {"live:k": value}


async def test_missing_key_reads_as_none(live_store: LiveStore) -> None:
    assert await live_store.get("missing") is None
    assert await live_store.ttl("missing") is None
    assert await live_store.delete("missing") is False
    assert await live_store.items() == {}


async def test_none_is_stored_but_reads_like_missing(live_store: LiveStore) -> None:
    """``get`` cannot tell a stored ``null`` from a missing key; ``items`` and ``ttl`` can."""
    await live_store.set("empty", None)
    assert await live_store.get("empty") is None
    assert await live_store.items() == {"live:empty": None}
    assert await live_store.ttl("empty") is not None
    assert await live_store.delete("empty") is True


async def test_tuples_come_back_as_lists(live_store: LiveStore) -> None:
    await live_store.set("k", {"pair": (1, 2)})
    assert await live_store.get("k") == {"pair": [1, 2]}


async def test_values_are_copies(live_store: LiveStore) -> None:
    value: dict[str, Any] = {"list": [1, 2], "inner": {"a": 1}}
    await live_store.set("k", value)
    value["list"].append(3)
    value["inner"]["a"] = 2
    read = await live_store.get("k")
    assert read == {"list": [1, 2], "inner": {"a": 1}}
    read["list"].append(4)
    assert await live_store.get("k") == {"list": [1, 2], "inner": {"a": 1}}
    listed = await live_store.items()
    listed["live:k"]["inner"]["a"] = 3
    assert await live_store.get("k") == {"list": [1, 2], "inner": {"a": 1}}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (object(), TypeError),
        ({"when": time}, TypeError),
        ({1, 2}, TypeError),
        (float("nan"), ValueError),
        ({"x": float("inf")}, ValueError),
    ],
    ids=["object", "module", "set", "nan", "infinity"],
)
async def test_non_json_values_are_refused(
    live_store: LiveStore, value: Any, error: type[Exception]
) -> None:
    await live_store.set("k", "before")
    with pytest.raises(error):
        await live_store.set("k", value)
    assert await live_store.get("k") == "before"


@pytest.mark.parametrize(
    "value", ["\ud800", {"\udfff": 1}, ["ok", {"k": "a\udc00b"}]], ids=["str", "key", "nested"]
)
async def test_lone_surrogates_are_refused(live_store: LiveStore, value: Any) -> None:
    """``json.dumps`` takes them, but no reader could encode them again (C1/C10)."""
    await live_store.set("k", "before")
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        await live_store.set("k", value)
    assert await live_store.get("k") == "before"
    assert await live_store.items() == {"live:k": "before"}


async def test_get_many_reads_several_keys_in_order(live_store: LiveStore) -> None:
    await live_store.set("a", {"v": 1})
    await live_store.set("c", [3])
    await live_store.set("n", None)
    assert await live_store.get_many(["c", "missing", "a", "n", "a"]) == [
        [3],
        None,
        {"v": 1},
        None,
        {"v": 1},
    ]
    assert await live_store.get_many([]) == []
    read = await live_store.get_many(["a"])
    read[0]["v"] = 2
    assert await live_store.get("a") == {"v": 1}


async def test_snapshot_hands_out_the_stored_texts_within_a_budget(
    live_store: LiveStore,
) -> None:
    values = {
        "device:a": {"online": True},
        "window:acct": {"tokens": 5, "name": "ünï"},
        "b": "x" * 100,
        "c": [1, 2],
        "a": None,
    }
    for key, value in values.items():
        await live_store.set(key, value)
    everything = await live_store.snapshot()
    assert everything.omitted == 0
    assert list(everything.texts) == sorted(values)
    assert decode(render_object(everything.texts)) == await live_store.items()

    def rank(key: str) -> int:
        return 0 if key.startswith("window:") else 1 if key.startswith("device:") else 2

    ranked = await live_store.snapshot(rank=rank)
    assert list(ranked.texts) == ["window:acct", "device:a", "a", "b", "c"]
    small = await live_store.snapshot(max_bytes=120, rank=rank)
    rendered = render_object(small.texts)
    assert 100 < len(rendered) <= 120
    # The long "b" does not fit, the short "c" after it still does.
    assert list(small.texts) == ["window:acct", "device:a", "a", "c"]
    assert small.omitted == 1
    assert decode(rendered) == {f"live:{key}": values[key] for key in small.texts}
    assert (await live_store.snapshot(max_bytes=2)) == LiveSnapshot({}, len(values))


async def test_overwrite_and_delete(live_store: LiveStore) -> None:
    await live_store.set("k", 1)
    await live_store.set("k", {"v": 2})
    assert await live_store.get("k") == {"v": 2}
    assert await live_store.delete("k") is True
    assert await live_store.get("k") is None
    assert await live_store.delete("k") is False
    assert await live_store.items() == {}


async def test_items_lists_every_live_value_under_live_prefix(live_store: LiveStore) -> None:
    await live_store.set("device:a", {"online": True})
    await live_store.set("device:b", {"online": False})
    await live_store.set("window:acct", [1, 2])
    await live_store.set("gone", 0)
    await live_store.delete("gone")
    assert LIVE_PREFIX == "live:"
    assert await live_store.items() == {
        "live:device:a": {"online": True},
        "live:device:b": {"online": False},
        "live:window:acct": [1, 2],
    }


# TTLs


async def test_default_and_explicit_ttl(live_store: LiveStore) -> None:
    assert live_store.default_ttl == DEFAULT_TTL
    await live_store.set("default", 1)
    await live_store.set("explicit", 1, ttl=10)
    default = await live_store.ttl("default")
    explicit = await live_store.ttl("explicit")
    assert default is not None and DEFAULT_TTL - 5 < default <= DEFAULT_TTL
    assert explicit is not None and 5 < explicit <= 10


@pytest.mark.parametrize("ttl", [0, -1, float("inf"), float("nan")])
async def test_ttl_must_be_positive_and_finite(live_store: LiveStore, ttl: float) -> None:
    with pytest.raises(ValueError, match="TTL"):
        await live_store.set("k", 1, ttl=ttl)
    with pytest.raises(ValueError, match="TTL"):
        await live_store.claim("c", ttl)
    assert await live_store.get("k") is None
    assert await live_store.claim("c", 10) is True


async def test_expired_values_vanish_everywhere(live_store: LiveStore) -> None:
    await live_store.set("short", {"v": 1}, ttl=SHORT_TTL)
    await live_store.set("long", {"v": 2})
    await live_store.set("renewed", 1, ttl=SHORT_TTL)
    await live_store.set("renewed", 2, ttl=10)  # overwriting restarts the clock
    await live_store.set("shortened", 1, ttl=10)
    await live_store.set("shortened", 2, ttl=SHORT_TTL)
    remaining = await live_store.ttl("short")
    assert remaining is not None and 0 < remaining <= SHORT_TTL
    await asyncio.sleep(PAST_SHORT_TTL)
    # Each read first sees an expired value it has not looked at since it expired.
    assert await live_store.items() == {"live:long": {"v": 2}, "live:renewed": 2}
    await live_store.set("short", {"v": 1}, ttl=SHORT_TTL)
    await live_store.set("shortened", 1, ttl=SHORT_TTL)
    await live_store.set("gone", 1, ttl=SHORT_TTL)
    await asyncio.sleep(PAST_SHORT_TTL)
    assert await live_store.ttl("short") is None
    assert await live_store.get("shortened") is None
    assert await live_store.delete("gone") is False
    assert await live_store.get("renewed") == 2
    assert await live_store.items() == {"live:long": {"v": 2}, "live:renewed": 2}


# Caps on client keys


async def test_a_client_value_over_the_value_cap_is_refused(capped_store: LiveStore) -> None:
    await capped_store.set("k", "small")
    with pytest.raises(LiveValueTooLargeError, match="at most 100"):
        await capped_store.set("k", "x" * 99)  # 101 bytes with its quotes
    assert await capped_store.get("k") == "small"
    await capped_store.set("k", "x" * 98)  # exactly 100
    await capped_store.set("window:acct", "x" * 1000)  # the server's own keys are exempt
    assert await capped_store.get("window:acct") == "x" * 1000


async def test_client_keys_are_capped_in_number(capped_store: LiveStore) -> None:
    for key in ("a", "b", "c"):
        await capped_store.set(key, 1)
    with pytest.raises(LiveStoreFullError, match="3 client keys"):
        await capped_store.set("d", 1)
    assert await capped_store.get("d") is None
    await capped_store.set("a", 2)  # overwriting takes no new room
    await capped_store.set("device:x", {"online": True})  # nor do the server's keys
    assert await capped_store.stats() == LiveStats(4, 3, 3)
    assert await capped_store.delete("b") is True
    await capped_store.set("d", 1)
    assert await capped_store.items() == {
        "live:a": 2,
        "live:c": 1,
        "live:d": 1,
        "live:device:x": {"online": True},
    }


async def test_client_keys_are_capped_in_total_size(capped_store: LiveStore) -> None:
    await capped_store.set("a", "x" * 78)  # 80 bytes with the quotes
    await capped_store.set("b", "x" * 98)  # 100
    with pytest.raises(LiveStoreFullError, match="250 allowed"):
        await capped_store.set("c", "x" * 69)  # 71: 251 in all
    await capped_store.set("c", "x" * 68)  # 70: exactly 250
    with pytest.raises(LiveStoreFullError):
        await capped_store.set("a", "x" * 79)  # growing a key counts too
    assert await capped_store.get("a") == "x" * 78
    await capped_store.set("a", "x")  # shrinking it frees room
    assert (await capped_store.stats()).client_bytes == 3 + 100 + 70
    await capped_store.set("b", "x", ttl=SHORT_TTL)
    assert (await capped_store.stats()).client_bytes == 3 + 3 + 70


async def test_expired_client_keys_stop_counting(capped_store: LiveStore) -> None:
    for key in ("a", "b", "c"):
        await capped_store.set(key, "x" * 50, ttl=SHORT_TTL)
    with pytest.raises(LiveStoreFullError):
        await capped_store.set("d", 1)
    await asyncio.sleep(PAST_SHORT_TTL)
    for key in ("d", "e", "f"):
        await capped_store.set(key, "x" * 70)
    stats = await capped_store.stats()
    assert (stats.client_keys, stats.client_bytes) == (3, 216)
    assert await capped_store.items() == {f"live:{key}": "x" * 70 for key in "def"}


async def test_memory_caps_follow_the_injected_clock() -> None:
    now = 0.0
    store = MemoryLiveStore(10, caps=SMALL_CAPS, clock=lambda: now)
    for n in range(3):
        await store.set(f"k{n}", n)
        await store.set(f"k{n}", n)  # overwritten: a stale deadline stays behind
    with pytest.raises(LiveStoreFullError):
        await store.set("late", 1)
    now += 10
    await store.set("late", 1)
    assert (await store.stats()).client_keys == 1
    for n in range(2_000):  # stale deadlines of an overwritten key do not pile up
        await store.set("late", n)
    assert len(store._deadlines) < 2_000
    await store.aclose()


# Claims


async def test_claim_is_exclusive_until_it_expires(live_store: LiveStore) -> None:
    assert await live_store.claim("scheduler", SHORT_TTL) is True
    assert await live_store.claim("scheduler", SHORT_TTL) is False
    assert await live_store.claim("other", SHORT_TTL) is True
    await asyncio.sleep(PAST_SHORT_TTL)
    assert await live_store.claim("scheduler", 10) is True
    assert await live_store.claim("scheduler", 10) is False


async def test_claims_live_outside_the_values(live_store: LiveStore) -> None:
    await live_store.set("job", "value")
    assert await live_store.claim("job", 10) is True
    assert await live_store.items() == {"live:job": "value"}
    assert await live_store.delete("job") is True
    assert await live_store.claim("job", 10) is False
    assert await live_store.items() == {}


async def test_claim_has_exactly_one_winner_among_concurrent_callers(
    live_store: LiveStore,
) -> None:
    results = await asyncio.gather(*(live_store.claim("race", 10) for _ in range(20)))
    assert results.count(True) == 1


# Events


async def test_events_arrive_in_publish_order(live_store: LiveStore) -> None:
    sent = [{"type": "tick", "n": n, "data": {"list": [n, None]}} for n in range(200)]
    async with live_store.subscribe() as events:
        for event in sent:
            await live_store.publish(event)
        assert await take(events, len(sent)) == sent
        await assert_quiet(events)


async def test_every_subscriber_gets_every_event(live_store: LiveStore) -> None:
    async with live_store.subscribe() as first, live_store.subscribe() as second:
        for n in range(3):
            await live_store.publish({"n": n})
        got_first = await take(first, 3)
        got_second = await take(second, 3)
    assert got_first == got_second == [{"n": 0}, {"n": 1}, {"n": 2}]


async def test_subscribers_get_their_own_copy(live_store: LiveStore) -> None:
    async with live_store.subscribe() as first, live_store.subscribe() as second:
        event = {"data": {"n": 1}}
        await live_store.publish(event)
        event["data"]["n"] = 2
        (mine,) = await take(first, 1)
        mine["data"]["n"] = 3
        assert await take(second, 1) == [{"data": {"n": 1}}]


async def test_events_before_subscribing_are_not_delivered(live_store: LiveStore) -> None:
    await live_store.publish({"n": "early"})
    async with live_store.subscribe() as events:
        await live_store.publish({"n": "late"})
        assert await take(events, 1) == [{"n": "late"}]
        await assert_quiet(events)


async def test_leaving_the_context_stops_delivery(live_store: LiveStore) -> None:
    async with live_store.subscribe() as kept:
        async with live_store.subscribe() as left:
            await live_store.publish({"n": 1})
            assert await take(left, 1) == [{"n": 1}]
            await live_store.publish({"n": 2})  # not read before leaving: dropped
            assert await take(kept, 2) == [{"n": 1}, {"n": 2}]
        await live_store.publish({"n": 3})
        assert await take(kept, 1) == [{"n": 3}]
    assert [event async for event in left] == []


@pytest.mark.parametrize("event", [[1, 2], "text", None, {"bad": object()}])
async def test_events_must_be_json_objects(live_store: LiveStore, event: Any) -> None:
    async with live_store.subscribe() as events:
        with pytest.raises((TypeError, ValueError)):
            await live_store.publish(event)
        await live_store.publish({"ok": True})
        assert await take(events, 1) == [{"ok": True}]


async def test_aclose_ends_subscriptions_and_refuses_work(live_store: LiveStore) -> None:
    received: asyncio.Queue[Event] = asyncio.Queue()
    subscribed = asyncio.Event()

    async def listen() -> None:
        async with live_store.subscribe() as events:
            subscribed.set()
            async for event in events:
                received.put_nowait(event)

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(subscribed.wait(), 2)
    await live_store.publish({"n": 1})
    assert await asyncio.wait_for(received.get(), 2) == {"n": 1}
    await live_store.aclose()
    await asyncio.wait_for(listener, 2)  # the iteration ended by itself
    assert received.empty()
    with pytest.raises(StorageUnavailableError):
        await live_store.ping()
    with pytest.raises(StorageUnavailableError):
        await live_store.get("k")
    with pytest.raises(StorageUnavailableError):
        async with live_store.subscribe():
            pass
    await live_store.aclose()  # closing twice is harmless


async def test_ping_answers(live_store: LiveStore) -> None:
    await live_store.ping()
    assert live_store.backend in {"memory", "redis"}


# Memory only: the injectable clock, the overflow policy


async def test_memory_expiry_follows_the_injected_clock() -> None:
    now = 1000.0
    store = MemoryLiveStore(30, clock=lambda: now)
    await store.set("k", {"v": 1})
    await store.set("other", 1, ttl=100)
    assert await store.claim("c", 10) is True
    now += 9.5
    assert await store.ttl("k") == pytest.approx(20.5)
    assert await store.claim("c", 10) is False
    now += 0.5
    assert await store.claim("c", 10) is True
    now += 19.75
    assert await store.get("k") == {"v": 1}
    await store.set("j", 1, ttl=0.5)
    await store.set("i", 1, ttl=0.5)
    now += 0.25  # exactly the deadline of "k": expired, as in Redis
    assert await store.items() == {"live:other": 1, "live:j": 1, "live:i": 1}
    assert await store.get("k") is None
    assert await store.ttl("k") is None
    now += 0.25
    assert await store.ttl("j") is None
    assert await store.delete("i") is False
    assert await store.items() == {"live:other": 1}
    await store.aclose()


async def test_memory_slow_subscriber_loses_its_oldest_events() -> None:
    store = MemoryLiveStore(max_pending=3)
    async with store.subscribe() as slow, store.subscribe() as fast:
        for n in range(5):
            await store.publish({"n": n})  # never waits for the slow subscriber
            assert await take(fast, 1) == [{"n": n}]
        assert await take(slow, 3) == [{"n": 2}, {"n": 3}, {"n": 4}]
        await assert_quiet(slow)
    await store.aclose()


# Redis only: replicas, the index, garbage on the channel, a dead server


@pytest.mark.services
async def test_replicas_share_values_and_events(redis_replicas: StoreFactory) -> None:
    first, second = await redis_replicas(), await redis_replicas()
    async with first.subscribe() as on_first, second.subscribe() as on_second:
        await first.set("device:a", {"online": True})
        await second.publish({"from": "second"})
        await first.publish({"from": "first"})
        expected = [{"from": "second"}, {"from": "first"}]
        assert await take(on_first, 2) == expected
        assert await take(on_second, 2) == expected
    assert await second.get("device:a") == {"online": True}
    assert await second.items() == {"live:device:a": {"online": True}}
    assert await second.claim("job", 10) is True
    assert await first.claim("job", 10) is False


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
async def test_replicas_share_the_caps(redis_replicas: StoreFactory) -> None:
    first, second = await redis_replicas(), await redis_replicas()
    await first.set("a", 1)
    await second.set("b", 1)
    await first.set("c", 1)
    for store in (first, second):
        with pytest.raises(LiveStoreFullError):
            await store.set("d", 1)
    assert await second.delete("a") is True
    await first.set("d", 1)
    assert (await second.stats()).client_keys == 3


@pytest.mark.services
async def test_concurrent_writers_never_pass_the_key_cap(redis_replicas: StoreFactory) -> None:
    stores = [await redis_replicas() for _ in range(4)]
    results = await asyncio.gather(
        *(stores[n % 4].set(f"k{n}", n) for n in range(20)),
        return_exceptions=True,
    )
    assert sum(result is None for result in results) == 3
    assert all(isinstance(r, LiveStoreFullError) for r in results if r is not None)
    assert len(await stores[0].items()) == 3


@pytest.mark.services
async def test_unreadable_stored_values_read_as_missing(redis_url: str, redis_prefix: str) -> None:
    """Garbage put into Redis behind the store's back (or by an old version) never raises."""
    import redis.asyncio

    store = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix)
    raw = redis.asyncio.Redis.from_url(redis_url)
    try:
        await store.set("good", {"v": 1})
        for name, garbage in {
            "surrogate": b'{"\\ud800":1}',
            "binary": b"\xff\xfe",
            "broken": b"{not json",
        }.items():
            await store.set(name, 0)
            await raw.set(f"{redis_prefix}live:{name}", garbage, px=60_000)
        assert await store.get("surrogate") is None
        assert await store.get_many(["binary", "good", "broken"]) == [None, {"v": 1}, None]
        assert await store.items() == {"live:good": {"v": 1}}
        snapshot = await store.snapshot()
        assert snapshot.texts == {"good": b'{"v":1}'} and snapshot.omitted == 0
        assert (await store.snapshot(max_bytes=1_000)).texts == {"good": b'{"v":1}'}
    finally:
        await store.aclose()
        await raw.aclose()


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
            async with far.subscribe() as events:
                await near.publish({"n": 1})
                assert await take(events, 1) == [{"n": 1}]
        finally:
            await far.aclose()
            await near.aclose()


@pytest.mark.services
async def test_prefixes_keep_stores_apart(redis_url: str, redis_prefix: str) -> None:
    mine = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix)
    other = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix + "other:")
    try:
        async with other.subscribe() as events:
            await mine.set("k", 1)
            await mine.publish({"n": 1})
            assert await mine.claim("c", 10) is True
            assert await other.get("k") is None
            assert await other.items() == {}
            assert await other.claim("c", 10) is True
            await assert_quiet(events)
    finally:
        await mine.aclose()
        await other.aclose()


@pytest.mark.services
async def test_redis_layout_and_index_upkeep(redis_url: str, redis_prefix: str) -> None:
    import redis.asyncio

    store = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix)
    raw = redis.asyncio.Redis.from_url(redis_url)
    index = f"{redis_prefix}live-index"
    try:
        await store.set("kept", {"v": 1})
        await store.set("dropped", 2)
        assert await raw.get(f"{redis_prefix}live:kept") == b'{"v":1}'
        assert 0 < await raw.pttl(f"{redis_prefix}live:kept") <= DEFAULT_TTL * 1000
        assert set(await raw.zrange(index, 0, -1)) == {b"kept", b"dropped"}
        await raw.delete(f"{redis_prefix}live:dropped")  # removed behind the store's back
        assert await store.items() == {"live:kept": {"v": 1}}
        assert await raw.zrange(index, 0, -1) == [b"kept"]
        assert await store.delete("kept") is True
        assert await raw.exists(index) == 0
        assert await store.claim("job", 10) is True
        assert await raw.exists(f"{redis_prefix}claim:job") == 1
    finally:
        await store.aclose()
        await raw.aclose()


@pytest.mark.services
async def test_garbage_on_the_channel_is_skipped(redis_url: str, redis_prefix: str) -> None:
    import redis.asyncio

    store = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix)
    raw = redis.asyncio.Redis.from_url(redis_url)
    try:
        async with store.subscribe() as events:
            for garbage in [b"not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"{"]:
                await raw.publish(f"{redis_prefix}events", garbage)
            await store.publish({"n": 1})
            assert await take(events, 1) == [{"n": 1}]
            await assert_quiet(events)
    finally:
        await store.aclose()
        await raw.aclose()


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
            await store.set("k", 1)
        with pytest.raises(StorageUnavailableError):
            await store.items()
        with pytest.raises(StorageUnavailableError):
            await store.publish({"n": 1})
        with pytest.raises(StorageUnavailableError):
            async with store.subscribe():
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
