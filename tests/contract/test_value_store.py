"""The value store contract (``ValueStore``): one suite, run against the memory and the
Redis backend.

Redis TTLs follow the server's clock, so expiry is tested with real short TTLs (0.2 s);
the memory backend's injectable clock is tested on its own, without sleeping. Anything the
memory store accepts, Redis accepts too: the memory store is never laxer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ccsync.storage.live import LIVE_PREFIX, LiveStore, ValueStore
from ccsync.storage.live.base import (
    LiveSnapshot,
    LiveStats,
    LiveStoreFullError,
    LiveValueTooLargeError,
)
from ccsync.storage.live.common import decode, render_object
from ccsync.storage.live.memory import MemoryLiveStore, MemoryValueStore
from ccsync.storage.live.redis import RedisLiveStore

from .conftest import DEFAULT_TTL, PAST_SHORT_TTL, SHORT_TTL, SMALL_CAPS, LiveFactory


@pytest.fixture
def values(live_store: LiveStore) -> ValueStore:
    return live_store.values


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
async def capped(request: pytest.FixtureRequest) -> AsyncIterator[ValueStore]:
    """A store whose caps are small enough to reach in a test (``SMALL_CAPS``)."""
    store: LiveStore
    if request.param == "memory":
        store = MemoryLiveStore(DEFAULT_TTL, caps=SMALL_CAPS)
    else:
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        store = RedisLiveStore(url, DEFAULT_TTL, prefix, caps=SMALL_CAPS)
    yield store.values
    await store.aclose()


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
async def test_json_values_round_trip(values: ValueStore, value: Any) -> None:
    await values.set("k", value)
    stored = await values.get("k")
    assert stored == value
    assert type(stored) is type(value)
    assert await values.items() == {"live:k": value}


async def test_missing_key_reads_as_none(values: ValueStore) -> None:
    assert await values.get("missing") is None
    assert await values.ttl("missing") is None
    assert await values.delete("missing") is False
    assert await values.items() == {}


async def test_none_is_stored_but_reads_like_missing(values: ValueStore) -> None:
    """``get`` cannot tell a stored ``null`` from a missing key; ``items`` and ``ttl`` can."""
    await values.set("empty", None)
    assert await values.get("empty") is None
    assert await values.items() == {"live:empty": None}
    assert await values.ttl("empty") is not None
    assert await values.delete("empty") is True


async def test_tuples_come_back_as_lists(values: ValueStore) -> None:
    await values.set("k", {"pair": (1, 2)})
    assert await values.get("k") == {"pair": [1, 2]}


async def test_values_are_copies(values: ValueStore) -> None:
    value: dict[str, Any] = {"list": [1, 2], "inner": {"a": 1}}
    await values.set("k", value)
    value["list"].append(3)
    value["inner"]["a"] = 2
    read = await values.get("k")
    assert read == {"list": [1, 2], "inner": {"a": 1}}
    read["list"].append(4)
    assert await values.get("k") == {"list": [1, 2], "inner": {"a": 1}}
    listed = await values.items()
    listed["live:k"]["inner"]["a"] = 3
    assert await values.get("k") == {"list": [1, 2], "inner": {"a": 1}}


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
    values: ValueStore, value: Any, error: type[Exception]
) -> None:
    await values.set("k", "before")
    with pytest.raises(error):
        await values.set("k", value)
    assert await values.get("k") == "before"


@pytest.mark.parametrize(
    "value", ["\ud800", {"\udfff": 1}, ["ok", {"k": "a\udc00b"}]], ids=["str", "key", "nested"]
)
async def test_lone_surrogates_are_refused(values: ValueStore, value: Any) -> None:
    """``json.dumps`` takes them, but no reader could encode them again (C1/C10)."""
    await values.set("k", "before")
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        await values.set("k", value)
    assert await values.get("k") == "before"
    assert await values.items() == {"live:k": "before"}


async def test_get_many_reads_several_keys_in_order(values: ValueStore) -> None:
    await values.set("a", {"v": 1})
    await values.set("c", [3])
    await values.set("n", None)
    assert await values.get_many(["c", "missing", "a", "n", "a"]) == [
        [3],
        None,
        {"v": 1},
        None,
        {"v": 1},
    ]
    assert await values.get_many([]) == []
    read = await values.get_many(["a"])
    read[0]["v"] = 2
    assert await values.get("a") == {"v": 1}


async def test_snapshot_hands_out_the_stored_texts_within_a_budget(
    values: ValueStore,
) -> None:
    stored = {
        "device:a": {"online": True},
        "window:acct": {"tokens": 5, "name": "ünï"},
        "b": "x" * 100,
        "c": [1, 2],
        "a": None,
    }
    for key, value in stored.items():
        await values.set(key, value)
    everything = await values.snapshot()
    assert everything.omitted == 0
    assert list(everything.texts) == sorted(stored)
    assert decode(render_object(everything.texts)) == await values.items()

    def rank(key: str) -> int:
        return 0 if key.startswith("window:") else 1 if key.startswith("device:") else 2

    ranked = await values.snapshot(rank=rank)
    assert list(ranked.texts) == ["window:acct", "device:a", "a", "b", "c"]
    small = await values.snapshot(max_bytes=120, rank=rank)
    rendered = render_object(small.texts)
    assert 100 < len(rendered) <= 120
    # The long "b" does not fit, the short "c" after it still does.
    assert list(small.texts) == ["window:acct", "device:a", "a", "c"]
    assert small.omitted == 1
    assert decode(rendered) == {f"live:{key}": stored[key] for key in small.texts}
    assert (await values.snapshot(max_bytes=2)) == LiveSnapshot({}, len(stored))


async def test_overwrite_and_delete(values: ValueStore) -> None:
    await values.set("k", 1)
    await values.set("k", {"v": 2})
    assert await values.get("k") == {"v": 2}
    assert await values.delete("k") is True
    assert await values.get("k") is None
    assert await values.delete("k") is False
    assert await values.items() == {}


async def test_items_lists_every_live_value_under_live_prefix(values: ValueStore) -> None:
    await values.set("device:a", {"online": True})
    await values.set("device:b", {"online": False})
    await values.set("window:acct", [1, 2])
    await values.set("gone", 0)
    await values.delete("gone")
    assert LIVE_PREFIX == "live:"
    assert await values.items() == {
        "live:device:a": {"online": True},
        "live:device:b": {"online": False},
        "live:window:acct": [1, 2],
    }


# TTLs


async def test_default_and_explicit_ttl(values: ValueStore) -> None:
    assert values.default_ttl == DEFAULT_TTL
    await values.set("default", 1)
    await values.set("explicit", 1, ttl=10)
    default = await values.ttl("default")
    explicit = await values.ttl("explicit")
    assert default is not None and DEFAULT_TTL - 5 < default <= DEFAULT_TTL
    assert explicit is not None and 5 < explicit <= 10


@pytest.mark.parametrize("ttl", [0, -1, float("inf"), float("nan")])
async def test_ttl_must_be_positive_and_finite(values: ValueStore, ttl: float) -> None:
    with pytest.raises(ValueError, match="TTL"):
        await values.set("k", 1, ttl=ttl)
    with pytest.raises(ValueError, match="TTL"):
        await values.claim("c", ttl)
    assert await values.get("k") is None
    assert await values.claim("c", 10) is True


async def test_expired_values_vanish_everywhere(values: ValueStore) -> None:
    await values.set("short", {"v": 1}, ttl=SHORT_TTL)
    await values.set("long", {"v": 2})
    await values.set("renewed", 1, ttl=SHORT_TTL)
    await values.set("renewed", 2, ttl=10)  # overwriting restarts the clock
    await values.set("shortened", 1, ttl=10)
    await values.set("shortened", 2, ttl=SHORT_TTL)
    remaining = await values.ttl("short")
    assert remaining is not None and 0 < remaining <= SHORT_TTL
    await asyncio.sleep(PAST_SHORT_TTL)
    # Each read first sees an expired value it has not looked at since it expired.
    assert await values.items() == {"live:long": {"v": 2}, "live:renewed": 2}
    await values.set("short", {"v": 1}, ttl=SHORT_TTL)
    await values.set("shortened", 1, ttl=SHORT_TTL)
    await values.set("gone", 1, ttl=SHORT_TTL)
    await asyncio.sleep(PAST_SHORT_TTL)
    assert await values.ttl("short") is None
    assert await values.get("shortened") is None
    assert await values.delete("gone") is False
    assert await values.get("renewed") == 2
    assert await values.items() == {"live:long": {"v": 2}, "live:renewed": 2}


# Caps on client keys


async def test_a_client_value_over_the_value_cap_is_refused(capped: ValueStore) -> None:
    await capped.set("k", "small")
    with pytest.raises(LiveValueTooLargeError, match="at most 100"):
        await capped.set("k", "x" * 99)  # 101 bytes with its quotes
    assert await capped.get("k") == "small"
    await capped.set("k", "x" * 98)  # exactly 100
    await capped.set("window:acct", "x" * 1000)  # the server's own keys are exempt
    assert await capped.get("window:acct") == "x" * 1000


async def test_client_keys_are_capped_in_number(capped: ValueStore) -> None:
    for key in ("a", "b", "c"):
        await capped.set(key, 1)
    with pytest.raises(LiveStoreFullError, match="3 client keys"):
        await capped.set("d", 1)
    assert await capped.get("d") is None
    await capped.set("a", 2)  # overwriting takes no new room
    await capped.set("device:x", {"online": True})  # nor do the server's keys
    assert await capped.stats() == LiveStats(4, 3, 3)
    assert await capped.delete("b") is True
    await capped.set("d", 1)
    assert await capped.items() == {
        "live:a": 2,
        "live:c": 1,
        "live:d": 1,
        "live:device:x": {"online": True},
    }


async def test_client_keys_are_capped_in_total_size(capped: ValueStore) -> None:
    await capped.set("a", "x" * 78)  # 80 bytes with the quotes
    await capped.set("b", "x" * 98)  # 100
    with pytest.raises(LiveStoreFullError, match="250 allowed"):
        await capped.set("c", "x" * 69)  # 71: 251 in all
    await capped.set("c", "x" * 68)  # 70: exactly 250
    with pytest.raises(LiveStoreFullError):
        await capped.set("a", "x" * 79)  # growing a key counts too
    assert await capped.get("a") == "x" * 78
    await capped.set("a", "x")  # shrinking it frees room
    assert (await capped.stats()).client_bytes == 3 + 100 + 70
    await capped.set("b", "x", ttl=SHORT_TTL)
    assert (await capped.stats()).client_bytes == 3 + 3 + 70


async def test_expired_client_keys_stop_counting(capped: ValueStore) -> None:
    for key in ("a", "b", "c"):
        await capped.set(key, "x" * 50, ttl=SHORT_TTL)
    with pytest.raises(LiveStoreFullError):
        await capped.set("d", 1)
    await asyncio.sleep(PAST_SHORT_TTL)
    for key in ("d", "e", "f"):
        await capped.set(key, "x" * 70)
    stats = await capped.stats()
    assert (stats.client_keys, stats.client_bytes) == (3, 216)
    assert await capped.items() == {f"live:{key}": "x" * 70 for key in "def"}


async def test_memory_caps_follow_the_injected_clock() -> None:
    now = 0.0
    store = MemoryValueStore(10, caps=SMALL_CAPS, clock=lambda: now)
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


async def test_claim_is_exclusive_until_it_expires(values: ValueStore) -> None:
    assert await values.claim("scheduler", SHORT_TTL) is True
    assert await values.claim("scheduler", SHORT_TTL) is False
    assert await values.claim("other", SHORT_TTL) is True
    await asyncio.sleep(PAST_SHORT_TTL)
    assert await values.claim("scheduler", 10) is True
    assert await values.claim("scheduler", 10) is False


async def test_claims_live_outside_the_values(values: ValueStore) -> None:
    await values.set("job", "value")
    assert await values.claim("job", 10) is True
    assert await values.items() == {"live:job": "value"}
    assert await values.delete("job") is True
    assert await values.claim("job", 10) is False
    assert await values.items() == {}


async def test_claim_has_exactly_one_winner_among_concurrent_callers(
    values: ValueStore,
) -> None:
    results = await asyncio.gather(*(values.claim("race", 10) for _ in range(20)))
    assert results.count(True) == 1


async def test_ping_answers(values: ValueStore) -> None:
    await values.ping()
    assert values.backend in {"memory", "redis"}


# Memory only: the injectable clock


async def test_memory_expiry_follows_the_injected_clock() -> None:
    now = 1000.0
    store = MemoryValueStore(30, clock=lambda: now)
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


# Redis only: replicas, the index, garbage in the values


@pytest.mark.services
async def test_replicas_share_values(redis_replicas: LiveFactory) -> None:
    first, second = (await redis_replicas()).values, (await redis_replicas()).values
    await first.set("device:a", {"online": True})
    assert await second.get("device:a") == {"online": True}
    assert await second.items() == {"live:device:a": {"online": True}}
    assert await second.claim("job", 10) is True
    assert await first.claim("job", 10) is False


@pytest.mark.services
async def test_replicas_share_the_caps(redis_replicas: LiveFactory) -> None:
    first, second = (await redis_replicas()).values, (await redis_replicas()).values
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
async def test_concurrent_writers_never_pass_the_key_cap(redis_replicas: LiveFactory) -> None:
    stores = [(await redis_replicas()).values for _ in range(4)]
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

    live = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix)
    store = live.values
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
        await live.aclose()
        await raw.aclose()


@pytest.mark.services
async def test_prefixes_keep_values_apart(redis_url: str, redis_prefix: str) -> None:
    mine = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix)
    other = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix + "other:")
    try:
        await mine.values.set("k", 1)
        assert await mine.values.claim("c", 10) is True
        assert await other.values.get("k") is None
        assert await other.values.items() == {}
        assert await other.values.claim("c", 10) is True
    finally:
        await mine.aclose()
        await other.aclose()


@pytest.mark.services
async def test_redis_layout_and_index_upkeep(redis_url: str, redis_prefix: str) -> None:
    import redis.asyncio

    live = RedisLiveStore(redis_url, DEFAULT_TTL, redis_prefix)
    store = live.values
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
        await live.aclose()
        await raw.aclose()
