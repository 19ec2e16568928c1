"""One Redis (``redis://``, ``rediss://``, ``unix://``) for the live values and the events.

``RedisConnection`` owns the connection pool, the key prefix and the failure rules: every
Redis failure (refused, timed out, auth) surfaces as ``StorageUnavailableError`` with a
one-line message naming the URL, password masked; once closed, it refuses all work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, unquote, urlsplit

from ccsync.redaction import mask_url
from ccsync.storage import StorageUnavailableError

if TYPE_CHECKING:
    from redis.asyncio import Redis

CONNECT_TIMEOUT = 2.0
"""Seconds to connect, or to answer ``ping``, before Redis counts as unreachable."""
COMMAND_TIMEOUT = 5.0
"""Seconds a command may take once connected."""
RETRIES = 2
"""Retries of a command whose connection broke (e.g. Redis restarted)."""


class RedisConnection:
    """A Redis client on its own pool; ``prefix`` starts every key and channel name."""

    def __init__(self, url: str, prefix: str = "") -> None:
        try:
            import redis.asyncio
            from redis.exceptions import RedisError
        except ImportError:
            raise StorageUnavailableError(
                "Redis support is not installed: pip install 'ccsync[redis]'"
            ) from None
        self.url = url
        self.prefix = prefix
        self._masked_url = _hide_passwords(mask_url(url), url)
        self._failures: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
        # A restarted Redis leaves the pool's connections dead: a command on one of them is
        # retried on a fresh connection (twice, briefly) before it counts as a failure.
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError

        pool = redis.asyncio.ConnectionPool.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES),
            retry_on_error=[RedisConnectionError, ConnectionResetError, BrokenPipeError],
        )
        self.client: Redis = redis.asyncio.Redis.from_pool(pool)
        self.closed = False

    def name(self, name: str) -> str:
        """``name`` under this connection's prefix."""
        return f"{self.prefix}{name}"

    def unavailable(self, exc: BaseException) -> StorageUnavailableError:
        """``exc`` as a one-line ``StorageUnavailableError`` that never shows the password."""
        reason = " ".join(str(exc).split())
        if isinstance(exc, TimeoutError) and not reason:
            reason = f"no answer within {CONNECT_TIMEOUT:g} s"
        detail = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
        return StorageUnavailableError(
            _hide_passwords(f"Redis at {self._masked_url} is unavailable: {detail}", self.url)
        )

    def failure(self, exc: BaseException) -> BaseException:
        """What to raise for ``exc``: Redis and network failures become ``unavailable``."""
        return self.unavailable(exc) if isinstance(exc, self._failures) else exc

    def closed_error(self) -> StorageUnavailableError:
        return StorageUnavailableError(f"the live store on {self._masked_url} is closed")

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Refuse work once closed; turn Redis failures into ``StorageUnavailableError``."""
        if self.closed:
            raise self.closed_error()
        try:
            yield
        except self._failures as exc:
            raise self.unavailable(exc) from exc

    async def ping(self) -> None:
        async with self.guard(), asyncio.timeout(CONNECT_TIMEOUT):
            await self.client.ping()

    async def aclose(self) -> None:
        """Refuse further work and close the pool (closing twice is harmless)."""
        if self.closed:
            return
        self.closed = True
        await self.client.aclose()


def as_bytes(raw: bytes | str) -> bytes:
    """A reply as bytes (the client is made without ``decode_responses``: always bytes)."""
    return raw if isinstance(raw, bytes) else raw.encode()


def _hide_passwords(text: str, url: str) -> str:
    """``text`` with every password of ``url`` (user info or ``?password=``) as ``***``."""
    parts = urlsplit(url)
    secrets = [parts.password or "", *parse_qs(parts.query).get("password", [])]
    for secret in filter(None, secrets):
        for form in {secret, unquote(secret), quote(secret, safe="")}:
            text = text.replace(form, "***")
    return text
