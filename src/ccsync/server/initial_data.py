"""The ``initial-data`` frame a WebSocket gets on connect: bounded, and built once for many.

The frame (``frames.InitialData``) is ``{"type": "initial-data", "data": {"live:<key>":
value, …}, "truncated": bool, "omitted": N}``, at most ``max_bytes`` long: the accounts'
windows and limits first, then the server's other keys, then client keys, each while it
fits (``ValueStore.snapshot``); ``omitted`` counts the keys left out, which a client reads
with ``get-live-data`` or ``GET /api/metrics``. The stored JSON texts go into the frame as
they are, and the frame is kept for ``max_age`` seconds: a burst of connections shares one
read and one string.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ccsync.server.live_keys import listing_rank
from ccsync.storage.live.base import ValueStore
from ccsync.storage.live.common import render_object

MAX_AGE = 1.0
"""Seconds a built frame is handed out again (values may be this much older than the
events that follow them)."""
_HEAD = b'{"type":"initial-data","data":'
_TAIL = b',"truncated":%s,"omitted":%d}'
_TAIL_ROOM = len(_TAIL) + 25  # "false" and 20 digits


class InitialData:
    def __init__(
        self,
        values: ValueStore,
        max_bytes: int,
        *,
        max_age: float = MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.values = values
        self.max_bytes = max_bytes
        self.max_age = max_age
        self._clock = clock
        self._lock = asyncio.Lock()
        self._frame: tuple[float, str] | None = None

    async def frame(self) -> str:
        """The frame's JSON text (a recent one, or a new one)."""
        async with self._lock:
            now = self._clock()
            if self._frame is not None and now - self._frame[0] < self.max_age:
                return self._frame[1]
            snapshot = await self.values.snapshot(
                max(2, self.max_bytes - len(_HEAD) - _TAIL_ROOM), listing_rank
            )
            truncated = b"true" if snapshot.omitted else b"false"
            text = (
                _HEAD + render_object(snapshot.texts) + _TAIL % (truncated, snapshot.omitted)
            ).decode()
            self._frame = (now, text)
            return text
