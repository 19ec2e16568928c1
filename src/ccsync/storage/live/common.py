"""What both live store backends share: the JSON and TTL rules, and delivery to one subscriber."""

from __future__ import annotations

import asyncio
import json
import math
from collections import deque

from ccsync.storage.live.base import JSON, Event

MAX_PENDING = 10_000
"""Events a subscriber may fall behind by before it loses the oldest ones."""


def encode(value: JSON) -> str:
    """``value`` as compact JSON text; ``TypeError``/``ValueError`` when it is not JSON."""
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def decode(text: str | bytes) -> JSON:
    """The JSON value in ``text`` (a fresh object every call)."""
    return json.loads(text)


def encode_event(event: Event) -> str:
    """``event`` as JSON text; events are JSON objects, anything else is a ``TypeError``."""
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
