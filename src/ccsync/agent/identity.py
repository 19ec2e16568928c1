"""Whether the server still holds what this agent sent it: the history's identity.

A server tells its ``historyId`` (random, made with its database) and this agent's
``mark`` (it holds every line of this agent's stream numbered up to it: outbox ids,
``AgentState.stream``) in its WebSocket ``welcome``, in every push acknowledgement and at
``GET /api/usage/{deviceId}/mark``. The agent keeps the history id it last saw and the
highest outbox id a server acknowledged (``AgentState.acked``).

A different history id (a new, wiped or replaced database; another server), or a mark
below what was acknowledged (a database restored from an older backup) means the server
lacks lines it once had. Then every file still there is read again from the start under
the same source names (``AgentState.rewind``, on the tailer's next scan): the server's
duplicate detection makes what it still holds free, and what it lost comes back. The
decision and the pending resync are stored in one transaction, so several agent
processes sharing the state resync once, and a crash before the re-read loses nothing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ccsync.agent.state import ACKED_KEY, RESYNC_KEY, AgentState

HISTORY_KEY = "server.history"
"""The history id the agent last saw."""
LAST_RESYNC_KEY = "resync.last"
"""The last resync: ``{"reason": …, "at": epoch seconds}``."""


@dataclass(frozen=True, slots=True)
class ServerView:
    """What a server said about its history (and this agent's place in it)."""

    history_id: str
    mark: int | None = None

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> ServerView | None:
        """From a ``welcome``, an acknowledgement or a mark answer; ``None`` when the
        server does not tell (an older server)."""
        history = message.get("historyId")
        if not isinstance(history, str) or not history:
            return None
        mark = message.get("mark")
        valid = isinstance(mark, int) and not isinstance(mark, bool) and mark >= 0
        return cls(history[:128], mark if valid else None)


def observe(state: AgentState, view: ServerView, acked_when_asked: int) -> str | None:
    """Take note of ``view``; return why everything must be read again, if it must.

    ``acked_when_asked``: what was acknowledged when the question (hello, push, mark
    request) left; acknowledgements that arrived since may not be in the answer.
    """
    with state.transaction() as db:
        known = _get(db, HISTORY_KEY)
        acked = int(_get(db, ACKED_KEY) or 0)
        reason = None
        if known is not None and known != view.history_id:
            reason = (
                f"the server's history changed ({known[:8]} → {view.history_id[:8]}):"
                " a new or replaced database, or another server"
            )
        elif view.mark is not None and view.mark < min(acked, acked_when_asked):
            reason = (
                f"the server holds this agent's lines up to #{view.mark}, not up to"
                f" #{acked}: restored from an older backup?"
            )
        _put(db, HISTORY_KEY, view.history_id)
        if reason is not None:
            _put(db, ACKED_KEY, str(view.mark or 0))
            _put(db, RESYNC_KEY, reason)
            _put(db, LAST_RESYNC_KEY, json.dumps({"reason": reason, "at": round(time.time())}))
    return reason


def last_resync(state: AgentState) -> dict[str, Any] | None:
    """The last resync's reason and time (epoch seconds), if there was one."""
    value = state.get(LAST_RESYNC_KEY)
    try:
        found = json.loads(value) if value else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _get(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _put(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
