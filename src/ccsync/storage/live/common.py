"""What both live store backends share: the JSON, TTL and cap rules, snapshots, and
delivery to one subscriber."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import deque
from collections.abc import Callable, Iterable

import msgspec

from ccsync.storage.live.base import (
    JSON,
    LIVE_PREFIX,
    Event,
    LiveCaps,
    LiveStoreFullError,
    LiveValueTooLargeError,
)

log = logging.getLogger("ccsync.live")

MAX_PENDING = 10_000
"""Events a subscriber may fall behind by before it loses the oldest ones."""
MAX_REPORTED = 1_000
"""Unreadable keys remembered (so each is logged once) before the memory starts over."""


def encode(value: JSON) -> bytes:
    """``value`` as compact UTF-8 JSON text.

    ``TypeError``/``ValueError`` when it is not JSON: NaN and infinities, and strings with
    a lone surrogate (``"\\ud800"`` parses in Python but is no Unicode text: storing it
    would make every later read of the value fail to encode).
    """
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()


def decode(text: str | bytes) -> JSON:
    """The JSON value in ``text`` (a fresh object every call).

    ``ValueError`` (``msgspec.DecodeError``) when ``text`` is not JSON, not UTF-8, or holds
    an escaped lone surrogate: nothing that decodes fails to encode again.
    """
    return msgspec.json.decode(text)


class Unreadable:
    """Reports stored texts that do not decode, each key once (they read as missing)."""

    def __init__(self) -> None:
        self._reported: set[str] = set()

    def report(self, key: str, error: Exception) -> None:
        if key in self._reported:
            return
        if len(self._reported) >= MAX_REPORTED:
            self._reported.clear()
        self._reported.add(key)
        log.warning("live.unreadable_value", extra={"key": key[:200], "error": str(error)[:200]})

    def check(self, key: str, text: bytes) -> bool:
        """Whether ``text`` decodes (reporting it when not)."""
        try:
            decode(text)
        except ValueError as exc:
            self.report(key, exc)
            return False
        return True


def check_caps(caps: LiveCaps, key: str, size: int) -> None:
    """``LiveValueTooLargeError`` when ``key`` is capped and ``size`` is over the value cap."""
    if size > caps.value_bytes and not caps.exempt(key):
        raise LiveValueTooLargeError(
            f"the value is {size:,} bytes of JSON; a live value may have at most "
            f"{caps.value_bytes:,}",
            caps.value_bytes,
        )


def store_full(caps: LiveCaps, keys: int, total: int, size: int) -> LiveStoreFullError | None:
    """The error for adding a value of ``size`` bytes when the client keys other than this
    one number ``keys`` and hold ``total`` bytes; ``None`` when it fits."""
    if keys + 1 > caps.keys:
        return LiveStoreFullError(
            f"the live store is full: {keys:,} client keys live, the most allowed is "
            f"{caps.keys:,}; delete some or wait for them to expire",
            caps.keys,
        )
    if total + size > caps.total_bytes:
        return LiveStoreFullError(
            f"the live store is full: client keys hold {total:,} bytes, this value would "
            f"pass the {caps.total_bytes:,} allowed; delete some or wait for them to expire",
            caps.total_bytes,
        )
    return None


# Snapshots: {"live:<key>": <stored text>, ...} built from the stored texts as they are.


def entry_bytes(key: str, size: int) -> int:
    """What ``"live:<key>":<text>,`` takes in ``render_object`` for a text of ``size`` bytes."""
    return len(json.dumps(LIVE_PREFIX + key)) + size + 2


def render_object(texts: dict[str, bytes]) -> bytes:
    """``{"live:<key>": <text>, …}`` as UTF-8 JSON, from texts that are JSON already."""
    return b"{%s}" % b",".join(
        json.dumps(LIVE_PREFIX + key).encode() + b":" + text for key, text in texts.items()
    )


def ordered(keys: Iterable[str], rank: Callable[[str], int] | None) -> list[str]:
    """``keys`` by ``(rank(key), key)``, or by name."""
    if rank is None:
        return sorted(keys)
    return sorted(keys, key=lambda key: (rank(key), key))


def within(sizes: Iterable[tuple[str, int]], max_bytes: int | None) -> tuple[list[str], int]:
    """The keys, in the given order, that fit ``max_bytes`` together (each one that does
    not fit is skipped, a later smaller one may still fit), and how many were skipped."""
    if max_bytes is None:
        return [key for key, _ in sizes], 0
    used = 2  # the braces
    taken: list[str] = []
    skipped = 0
    for key, size in sizes:
        cost = entry_bytes(key, size)
        if used + cost <= max_bytes:
            taken.append(key)
            used += cost
        else:
            skipped += 1
    return taken, skipped


def encode_event(event: Event) -> bytes:
    """``event`` as UTF-8 JSON text; events are JSON objects, anything else is a ``TypeError``."""
    if not isinstance(event, dict):
        raise TypeError(f"an event is a JSON object, not {type(event).__name__}")
    return encode(event)


def milliseconds(ttl: float) -> int:
    """``ttl`` seconds as whole milliseconds, rounded up; ``ValueError`` unless positive and finite."""
    if not 0 < ttl < math.inf:
        raise ValueError(f"a TTL is a positive number of seconds, not {ttl!r}")
    return max(1, math.ceil(ttl * 1000))


class _End:
    """Marks the end of a subscription, with the error that ended it (if any)."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class EventQueue:
    """The events waiting for one subscriber, and the async iterator that hands them out.

    Bounded and never blocking the sender: when ``maxsize`` events are waiting, ``put``
    drops the oldest. ``close`` ends iteration at once (waiting events are discarded);
    ``fail`` ends it after the waiting events, by raising ``error``.
    """

    def __init__(self, maxsize: int = MAX_PENDING) -> None:
        self._events: deque[Event] = deque(maxlen=maxsize)
        self._wakeup = asyncio.Event()
        self._end: _End | None = None

    def put(self, event: Event) -> None:
        if self._end is None:
            self._events.append(event)
            self._wakeup.set()

    def close(self) -> None:
        if self._end is None:
            self._events.clear()
            self._end = _End(None)
            self._wakeup.set()

    def fail(self, error: BaseException) -> None:
        if self._end is None:
            self._end = _End(error)
            self._wakeup.set()

    def __aiter__(self) -> EventQueue:
        return self

    async def __anext__(self) -> Event:
        while not self._events:
            if self._end is not None:
                if self._end.error is not None:
                    raise self._end.error
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._events.popleft()
