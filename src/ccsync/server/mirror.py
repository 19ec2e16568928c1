"""Each account's surviving entries, mirrored in memory for reports and the window.

Reading an account's 35,000 survivors from SQLite takes about 0.2 s, and the window is
computed after every push. The mirror instead asks the store, on each read, what changed
since the last line it saw (``EntryStore.kept_changes``: one index range scan when
nothing did) and applies it, so it is exact whatever other server processes wrote; after
a ``prune`` (a new generation) it loads the account again. The
entries are kept in report order (``time_order``); a read returns a time range of them.

An account with more than ``max_entries`` survivors is not mirrored: its reads go to the
store, as before.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

from ccsync.storage.history.entries import EntryStore, KeptChanges, StoredEntry
from ccsync.usage.entry import time_order

DEFAULT_MAX_ENTRIES = 2_000_000
REBUILD_AT = 2_000
"""More changes than this at once: sort everything again rather than insert one by one."""

_order: Callable[[StoredEntry], tuple[int, str, int]] = lambda stored: time_order(stored.entry)  # noqa: E731
_stamp: Callable[[StoredEntry], int] = lambda stored: stored.entry.timestamp_ms  # noqa: E731


@dataclass
class _Mirror:
    last_id: int = 0
    generation: int = 0
    by_id: dict[int, StoredEntry] = field(default_factory=dict)
    ordered: list[StoredEntry] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def apply(self, changes: KeptChanges) -> None:
        added = [(i, s) for i, s in changes.kept if i not in self.by_id]
        removed = [i for i in changes.dropped if i in self.by_id]
        if len(added) + len(removed) > REBUILD_AT:
            for line_id in removed:
                del self.by_id[line_id]
            self.by_id.update(added)
            self.ordered = sorted(self.by_id.values(), key=_order)
        else:
            for line_id in removed:
                self._remove(self.by_id.pop(line_id))
            for line_id, stored in added:
                self.by_id[line_id] = stored
                bisect.insort(self.ordered, stored, key=_order)
        self.last_id = changes.last_id
        self.generation = changes.generation

    def reset(self) -> None:
        self.last_id = 0
        self.by_id.clear()
        self.ordered.clear()

    def _remove(self, stored: StoredEntry) -> None:
        key = _order(stored)
        index = bisect.bisect_left(self.ordered, key, key=_order)
        while self.ordered[index] is not stored:  # equal keys: find this very line
            index += 1
        del self.ordered[index]

    def between(self, since_ms: int | None, until_ms: int | None) -> list[StoredEntry]:
        start = 0 if since_ms is None else bisect.bisect_left(self.ordered, since_ms, key=_stamp)
        end = (
            len(self.ordered)
            if until_ms is None
            else bisect.bisect_left(self.ordered, until_ms, key=_stamp)
        )
        return self.ordered[start:end]


class Survivors:
    def __init__(self, store: EntryStore, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.store = store
        self.max_entries = max_entries
        self._mirrors: dict[str, _Mirror] = {}
        self._too_big: set[str] = set()

    async def entries(
        self, account: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[StoredEntry]:
        """The account's survivors with ``since_ms <= timestamp < until_ms``, in time order
        (what ``EntryStore.kept_entries`` answers)."""
        if account in self._too_big:
            return await self.store.kept_entries(account, since_ms, until_ms)
        mirror = self._mirrors.setdefault(account, _Mirror())
        async with mirror.lock:
            changes = await self.store.kept_changes(account, mirror.last_id)
            if mirror.last_id and changes.generation != mirror.generation:
                # Lines were pruned (and survivors decided again): start over.
                mirror.reset()
                changes = await self.store.kept_changes(account, 0)
            mirror.apply(changes)
            if len(mirror.by_id) > self.max_entries:
                del self._mirrors[account]
                self._too_big.add(account)
                return await self.store.kept_entries(account, since_ms, until_ms)
            return mirror.between(since_ms, until_ms)
