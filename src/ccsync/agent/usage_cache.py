"""Claude Code's copy of the account usage response, followed for new fetches.

When Claude Code fetches the account's usage (for ``/usage``, ``claude -p /usage``…), it
keeps the response in its state file, ``~/.claude.json`` → ``cachedUsageUtilization =
{fetchedAtMs, accountUuid?, utilization}``: every window's official percentage and reset,
the model-scoped weekly ones included, at no network cost. How often it is refreshed is
Claude Code's business (peers saw it days old): it is an official reading as of
``fetchedAtMs``, which the server weighs against the others by that time.

Each look costs a ``stat`` per candidate file (``usage.discovery.claude_json_paths``); a
file is read only when its size, modification time or inode changed, and only its one
key is decoded (``usage.usage_response.read_cached_usage``: the file can be megabytes).
Of the files that carry a cache, of this agent's account (or none said), the newest fetch
wins. Its readings are queued in the state with the fetch time as a mark
(``AgentState.queue_readings``), in one transaction: a fetch is queued once, however often
the file is rewritten around it, by however many agents sharing the state, and one older
than the mark is ignored. They are sent with the transcripts' readings
(``ccsync.agent.readings``, source ``usage_cache``) and wait in the state while offline.

A file that cannot be read as JSON, or whose cache is not of the known shape, is a counted
skip (``skipped``, and a warning), never an error: it is looked at again when it changes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from ccsync.agent.readings import cached_rows
from ccsync.agent.state import AgentState
from ccsync.bounds import acceptable
from ccsync.usage.usage_response import UsageSnapshot, read_cached_usage

log = logging.getLogger("ccsync.agent")

MARK_KEY = "usage_cache.fetched_at"
"""The newest ``fetchedAtMs`` whose readings were queued (in the state's ``meta``)."""
MAX_BYTES = 64 * 1024 * 1024
"""A larger ``.claude.json`` is not read (Claude Code's are a few megabytes at most)."""
DEFAULT_ACCOUNT = "default"

Stamp = tuple[int, int, int, int]


def stamp_of(info: os.stat_result) -> Stamp:
    """What changes when a file is written or replaced: inode, size, times."""
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


class UsageCache:
    def __init__(self, state: AgentState, paths: Sequence[Path], account: str | None) -> None:
        self.state = state
        self.paths = list(paths)
        """The candidate ``.claude.json`` files, in order (``claude_json_paths``)."""
        self.account = None if account == DEFAULT_ACCOUNT else account
        self.skipped = 0
        """Files read that could not be (not JSON, a cache of an unknown shape), and fetches
        refused for their time."""
        self.queued = 0
        """Readings queued by this process."""
        self._seen: dict[Path, tuple[Stamp, UsageSnapshot | None]] = {}
        self._marked: int | None = None
        self._refused: int | None = None

    def check(self, now_ms: int) -> int:
        """Look for a newer fetch and queue its readings; how many were queued."""
        newest: UsageSnapshot | None = None
        for path in self.paths:
            found = self._look(path)
            if found is None or found.fetched_at_ms is None or not self._ours(found):
                continue
            if newest is None or found.fetched_at_ms > (newest.fetched_at_ms or 0):
                newest = found
        if newest is None or newest.fetched_at_ms is None:
            return 0
        fetched = newest.fetched_at_ms
        if self._marked is None:
            stored = self.state.get(MARK_KEY)
            self._marked = int(stored) if stored is not None and stored.isdigit() else 0
        if fetched <= self._marked:
            return 0
        if not acceptable(fetched, now_ms):
            if self._refused != fetched:  # said once per fetch
                self._refused = fetched
                self.skipped += 1
                log.warning("agent.usage_cache_refused", extra={"fetched_at_ms": fetched})
            return 0
        rows = cached_rows(newest)
        queued = self.state.queue_readings(rows, MARK_KEY, fetched)
        self._marked = fetched
        if not queued:  # another agent sharing the state queued it (or a newer one)
            return 0
        self.queued += len(rows)
        log.info("agent.usage_cache", extra={"fetched_at_ms": fetched, "readings": len(rows)})
        return len(rows)

    def _ours(self, found: UsageSnapshot) -> bool:
        """Whether the cache is of this agent's account (either may not say)."""
        return found.account is None or self.account is None or found.account == self.account

    def _look(self, path: Path) -> UsageSnapshot | None:
        """The cache in ``path``: read again only if the file changed since last time."""
        try:
            info = os.stat(path)
        except OSError:
            self._seen.pop(path, None)
            return None
        stamp = stamp_of(info)
        held = self._seen.get(path)
        if held is not None and held[0] == stamp:
            return held[1]
        if info.st_size > MAX_BYTES:
            self._skip(path, stamp, f"larger than {MAX_BYTES // 1024 // 1024} MB")
            return None
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_BYTES + 1)
        except OSError:
            return None  # gone or unreadable now: looked at again next time
        if len(data) != info.st_size:
            return None  # being written: looked at again when it changes (or next time)
        found = read_cached_usage(data)
        if found.problem is not None:
            self._skip(path, stamp, found.problem)
            return None
        self._seen[path] = (stamp, found.snapshot)
        return found.snapshot

    def _skip(self, path: Path, stamp: Stamp, problem: str) -> None:
        self.skipped += 1
        self._seen[path] = (stamp, None)
        log.warning("agent.usage_cache_unreadable", extra={"path": str(path), "problem": problem})
