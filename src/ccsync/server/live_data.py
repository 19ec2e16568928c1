"""``/api/metrics`` and ``get-live-data``: a key-value API over the live store, for any client.

Anyone may read every key (``live:<key>``). Client keys may be stored and deleted by any
token: a stored value is the JSON given (an object gets a ``timestamp``; anything else is
kept as ``{"value": …, "timestamp"}``), for the store's TTL (300 s), and is published as
``live-data-update``. The server's own keys (``live_keys.is_server_owned``) are read-only
here (``ForbiddenError``). Client values are capped in size, number and total
(``TooLargeError`` with the ``limit`` and whether the ``value`` or the ``store`` is full).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ccsync.clock import Clock
from ccsync.server import events
from ccsync.server.errors import ForbiddenError, NotFoundError, TooLargeError, UnprocessableError
from ccsync.server.live_keys import is_server_owned
from ccsync.storage.live.base import EventBus, LiveCapError, LiveValueTooLargeError, ValueStore
from ccsync.storage.live.common import render_object
from ccsync.usage.timestamps import iso_millis


class LiveValues(msgspec.Struct):
    """Every live key, by its full name (``live:<key>``)."""

    data: dict[str, Any]


class LiveValue(msgspec.Struct):
    key: str
    data: Any
    """The value (``null`` when the key is missing or expired)."""


class Stored(msgspec.Struct):
    success: bool
    key: str
    data: Any
    """What is stored now (``null`` once deleted)."""


class LiveData:
    def __init__(self, values: ValueStore, bus: EventBus, clock: Clock) -> None:
        self.values = values
        self.bus = bus
        self.clock = clock

    async def all_json(self) -> bytes:
        """``LiveValues`` as JSON, made of the stored texts as they are (nothing is decoded
        and encoded again)."""
        snapshot = await self.values.snapshot()
        return b'{"data":%s}' % render_object(snapshot.texts)

    async def get(self, key: str) -> LiveValue:
        return LiveValue(key=key, data=await self.values.get(key))

    async def store(self, key: str, body: Any) -> Stored:
        _writable(key)
        now = self.clock.now_ms()
        stamp = iso_millis(now)
        data = (
            {**body, "timestamp": stamp}
            if isinstance(body, dict)
            else {"value": body, "timestamp": stamp}
        )
        try:
            await self.values.set(key, data)
        except LiveCapError as exc:
            reason = "value" if isinstance(exc, LiveValueTooLargeError) else "store"
            raise TooLargeError(str(exc), limit=exc.limit, reason=reason) from None
        except (TypeError, ValueError) as exc:  # NaN, Infinity, lone surrogates: not storable
            raise UnprocessableError(f"the value is not storable JSON: {exc}") from None
        await events.publish(self.bus, events.LiveDataUpdate(key=key, data=data, timestamp=stamp))
        return Stored(success=True, key=key, data=data)

    async def delete(self, key: str) -> Stored:
        _writable(key)
        if not await self.values.delete(key):
            raise NotFoundError(f"no live key {key!r}")
        stamp = iso_millis(self.clock.now_ms())
        await events.publish(self.bus, events.LiveDataUpdate(key=key, data=None, timestamp=stamp))
        return Stored(success=True, key=key, data=None)


def _writable(key: str) -> None:
    if is_server_owned(key):
        raise ForbiddenError(
            f"live key {key!r} belongs to the server (device states, windows, limits, "
            "counters and schedules are written by pushes, not here): it is read-only"
        )
