"""The live values on Redis, shared by every replica that uses the same Redis and prefix.

Layout (every name starts with the connection's prefix):

- ``live:<key>``: the value as JSON text, with the TTL as a Redis expiry (``SET PX``);
- ``live-index``: a sorted set of the keys, scored by expiry time in epoch milliseconds,
  so ``items`` reads the index instead of scanning the keyspace. The value's own expiry
  is the truth; the index is only a list of candidates. Scores come from this process's
  clock (``time.time``); members are purged ``CLOCK_SKEW_MS`` after their score, so
  replicas whose clocks differ by less than that never hide each other's live keys.
- ``live-clients`` (sorted set, scored by expiry on Redis's own clock), ``live-client-sizes``
  (hash: key → bytes) and ``live-client-bytes`` (their sum): the bookkeeping of the caps
  on client keys, shared by every replica. Scripts change it together with the values,
  so the check and the write are one atomic step; a client key whose expiry passed is
  dropped from it before any count is taken.
- ``claim:<name>``: claims (``SET NX PX``), outside ``live:`` and the index.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ccsync.storage.live.base import (
    JSON,
    LIVE_PREFIX,
    LiveCaps,
    LiveSnapshot,
    LiveStats,
    LiveStoreFullError,
    ValueStore,
)
from ccsync.storage.live.common import (
    Unreadable,
    check_caps,
    decode,
    encode,
    milliseconds,
    ordered,
    store_full,
    within,
)
from ccsync.storage.live.redis_connection import RedisConnection, as_bytes

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

CLOCK_SKEW_MS = 2_000
"""How far replicas' clocks may disagree before ``items`` could miss a live key."""

# Removes index members whose value is gone, atomically: a concurrent ``set`` (value and
# index member in one transaction) can never lose its member to this clean-up.
# KEYS: the index, then one value key per member; ARGV: the members.
_DROP_GONE = """
for i, member in ipairs(ARGV) do
    if redis.call('EXISTS', KEYS[i + 1]) == 0 then
        redis.call('ZREM', KEYS[1], member)
    end
end
return 0
"""

# The caps' bookkeeping (see the module doc). Every script below takes the same KEYS:
# the value, ``live-index``, ``live-clients``, ``live-client-sizes``, ``live-client-bytes``.
_EXPIRE_CLIENTS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
if #expired > 0 then
    local freed = 0
    for _, member in ipairs(expired) do
        local size = redis.call('HGET', KEYS[4], member)
        if size then
            freed = freed + tonumber(size)
            redis.call('HDEL', KEYS[4], member)
        end
    end
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
    redis.call('DECRBY', KEYS[5], freed)
end
"""

# Store a client key if the caps allow. ARGV: key, text, TTL ms, index score, max keys,
# max bytes. Returns {stored (0/1), other client keys, their bytes}.
_SET_CLIENT = (
    _EXPIRE_CLIENTS
    + """
local size = string.len(ARGV[2])
local old = redis.call('HGET', KEYS[4], ARGV[1])
local keys = redis.call('ZCARD', KEYS[3])
local total = tonumber(redis.call('GET', KEYS[5]) or '0')
if old then
    keys = keys - 1
    total = total - tonumber(old)
end
if keys + 1 > tonumber(ARGV[5]) or total + size > tonumber(ARGV[6]) then
    return {0, keys, total}
end
local ms = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ms)
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[3], now + ms, ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], size)
redis.call('INCRBY', KEYS[5], size - tonumber(old or '0'))
return {1, keys, total}
"""
)

# Delete a key (and its bookkeeping, when it is a client key). ARGV: the key.
_DELETE = """
local deleted = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local size = redis.call('HGET', KEYS[4], ARGV[1])
if size then
    redis.call('HDEL', KEYS[4], ARGV[1])
    redis.call('ZREM', KEYS[3], ARGV[1])
    redis.call('DECRBY', KEYS[5], size)
end
return deleted
"""

# Counts. ARGV: the index horizon (see ``items``). Returns {keys, client keys, client bytes}.
_STATS = (
    _EXPIRE_CLIENTS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])
return {
    redis.call('ZCARD', KEYS[2]),
    redis.call('ZCARD', KEYS[3]),
    tonumber(redis.call('GET', KEYS[5]) or '0'),
}
"""
)


class RedisValueStore(ValueStore):
    """Live values and claims in Redis, over a ``RedisConnection`` (which the owner closes)."""

    def __init__(
        self, connection: RedisConnection, default_ttl: float = 300.0, caps: LiveCaps | None = None
    ) -> None:
        super().__init__(default_ttl, caps)
        self.connection = connection
        self._client = connection.client
        self._drop_gone: AsyncScript = self._client.register_script(_DROP_GONE)
        self._set_client: AsyncScript = self._client.register_script(_SET_CLIENT)
        self._delete: AsyncScript = self._client.register_script(_DELETE)
        self._stats: AsyncScript = self._client.register_script(_STATS)
        self._unreadable = Unreadable()

    @property
    def backend(self) -> str:
        return "redis"

    def _value_key(self, key: str) -> str:
        return self.connection.name(LIVE_PREFIX + key)

    @property
    def _index(self) -> str:
        return self.connection.name("live-index")

    def _script_keys(self, key: str) -> list[str]:
        """The KEYS of the bookkeeping scripts, for ``key``."""
        return [
            self._value_key(key),
            self._index,
            self.connection.name("live-clients"),
            self.connection.name("live-client-sizes"),
            self.connection.name("live-client-bytes"),
        ]

    def _decoded(self, key: str, raw: bytes | str | None) -> JSON | None:
        """``raw`` decoded; ``None`` (reported once) when it does not decode."""
        if raw is None:
            return None
        try:
            return decode(raw)
        except ValueError as exc:
            self._unreadable.report(key, exc)
            return None

    async def get(self, key: str) -> JSON | None:
        async with self.connection.guard():
            raw = await self._client.get(self._value_key(key))
        return self._decoded(key, raw)

    async def get_many(self, keys: Sequence[str]) -> list[JSON | None]:
        if not keys:
            return []
        async with self.connection.guard():
            raws = await self._client.mget([self._value_key(key) for key in keys])
        return [self._decoded(key, raw) for key, raw in zip(keys, raws, strict=True)]

    async def set(self, key: str, value: JSON, ttl: float | None = None) -> None:
        ms = milliseconds(self.default_ttl if ttl is None else ttl)
        text = encode(value)
        check_caps(self.caps, key, len(text))
        expires = int(time.time() * 1000) + ms
        if not self.caps.exempt(key):
            async with self.connection.guard():
                stored, keys, total = await self._set_client(
                    keys=self._script_keys(key),
                    args=[key, text, ms, expires, self.caps.keys, self.caps.total_bytes],
                )
            if not stored:  # the script applied the same rule as store_full
                raise store_full(self.caps, keys, total, len(text)) or LiveStoreFullError(
                    "the live store is full", self.caps.keys
                )
            return
        async with self.connection.guard(), self._client.pipeline(transaction=True) as pipe:
            pipe.set(self._value_key(key), text, px=ms)
            pipe.zadd(self._index, {key: expires})
            await pipe.execute()

    async def delete(self, key: str) -> bool:
        async with self.connection.guard():
            deleted = await self._delete(keys=self._script_keys(key), args=[key])
        return bool(deleted)

    async def items(self) -> dict[str, JSON]:
        """Read the index's current members, then their values in one ``MGET``.

        Members whose score passed more than ``CLOCK_SKEW_MS`` ago are purged; members whose
        value is gone anyway (deleted elsewhere, evicted) are dropped by ``_DROP_GONE``.
        """
        async with self.connection.guard():
            keys = await self._members()
            if not keys:
                return {}
            values = await self._client.mget([self._value_key(key) for key in keys])
            found: dict[str, JSON] = {}
            gone: list[str] = []
            for key, raw in zip(keys, values, strict=True):
                if raw is None:
                    gone.append(key)
                    continue
                try:
                    found[LIVE_PREFIX + key] = decode(raw)
                except ValueError as exc:  # unreadable: as if missing
                    self._unreadable.report(key, exc)
            if gone:
                await self._forget(gone)
        return found

    async def _members(self) -> list[str]:
        """The index's current members (purging the ones long expired)."""
        horizon = int(time.time() * 1000) - CLOCK_SKEW_MS
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(self._index, "-inf", f"({horizon}")
            pipe.zrangebyscore(self._index, horizon, "+inf")
            _, members = await pipe.execute()
        return [member.decode() for member in members]

    async def _forget(self, gone: list[str]) -> None:
        """Drop index members whose value is gone (``_DROP_GONE``)."""
        await self._drop_gone(
            keys=[self._index, *(self._value_key(key) for key in gone)], args=gone
        )

    async def snapshot(
        self, max_bytes: int | None = None, rank: Callable[[str], int] | None = None
    ) -> LiveSnapshot:
        """Reads the server's own values whole but only the client keys' sizes (from the
        caps' bookkeeping), then just the client values that fit ``max_bytes``."""
        async with self.connection.guard():
            keys = await self._members()
            if not keys:
                return LiveSnapshot({})
            texts: dict[str, bytes] = {}
            if max_bytes is None:
                chosen, omitted = ordered(keys, rank), 0
            else:
                own = [key for key in keys if self.caps.exempt(key)]
                clients = [key for key in keys if not self.caps.exempt(key)]
                sizes: dict[str, int] = {}
                async with self._client.pipeline(transaction=False) as pipe:
                    if own:
                        pipe.mget([self._value_key(key) for key in own])
                    if clients:
                        pipe.hmget(self.connection.name("live-client-sizes"), clients)
                    answers = await pipe.execute()
                if own:
                    for key, raw in zip(own, answers.pop(0), strict=True):
                        if raw is not None:
                            texts[key] = as_bytes(raw)
                            sizes[key] = len(texts[key])
                if clients:
                    for key, size in zip(clients, answers.pop(0), strict=True):
                        sizes[key] = 0 if size is None else int(size)  # 0: unknown, read it
                chosen, omitted = within(
                    ((key, sizes[key]) for key in ordered(sizes, rank)), max_bytes
                )
            wanted = [key for key in chosen if key not in texts]
            if wanted:
                raws = await self._client.mget([self._value_key(key) for key in wanted])
                texts.update(
                    (key, as_bytes(raw)) for key, raw in zip(wanted, raws, strict=True) if raw
                )
        readable = [
            key for key in chosen if key in texts and self._unreadable.check(key, texts[key])
        ]
        taken, skipped = within(((key, len(texts[key])) for key in readable), max_bytes)
        return LiveSnapshot({key: texts[key] for key in taken}, omitted + skipped)

    async def stats(self) -> LiveStats:
        horizon = int(time.time() * 1000) - CLOCK_SKEW_MS
        async with self.connection.guard():
            keys, clients, total = await self._stats(keys=self._script_keys(""), args=[horizon])
        return LiveStats(int(keys), int(clients), int(total))

    async def ttl(self, key: str) -> float | None:
        async with self.connection.guard():
            remaining: int = await self._client.pttl(self._value_key(key))
        # -2: no such key; -1: no expiry, which this store never writes.
        return None if remaining < 0 else remaining / 1000

    async def claim(self, name: str, ttl: float) -> bool:
        ms = milliseconds(ttl)
        async with self.connection.guard():
            taken = await self._client.set(
                self.connection.name(f"claim:{name}"), b"1", nx=True, px=ms
            )
        return bool(taken)

    async def ping(self) -> None:
        await self.connection.ping()
