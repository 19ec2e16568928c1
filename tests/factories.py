"""Records for tests, in one place: a usage entry with sensible defaults, every field a
keyword away. (Transcript lines as Claude Code writes them: ``fixtures/lines.py``; wire
pushes built from transcripts: ``fixtures/payloads.py``.)"""

from __future__ import annotations

from datetime import UTC, datetime

from ccsync.usage.entry import UsageEntry

SONNET = "claude-sonnet-4-20250514"
PROJECTS = "/home/u/.claude/projects"
"""Where ``entry``'s transcript files are (its ``source`` is ``PROJECTS/<file>``)."""


class _Derived:
    """The default of a field that follows from others (see ``entry``)."""

    def __repr__(self) -> str:
        return "<derived>"


DERIVED = _Derived()


def at(text: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 instant (UTC when it names no zone)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def entry(
    n: int = 0,
    *,
    ts: int | str = 0,
    inp: int = 0,
    out: int = 0,
    cc: int = 0,
    cc_1h: int = 0,
    cr: int = 0,
    model: str | None = SONNET,
    fast: bool = False,
    speed: bool | _Derived = DERIVED,
    mid: str | _Derived | None = DERIVED,
    rid: str | _Derived | None = DERIVED,
    session_field: str | _Derived | None = DERIVED,
    cost: float | None = None,
    sidechain: bool = False,
    reset_ms: int | None = None,
    project: str = "p",
    session: str = "s",
    file: str | _Derived = DERIVED,
    source: str | _Derived = DERIVED,
) -> UsageEntry:
    """Line ``n`` (its byte offset) of a transcript, as the engine reads it.

    - ``ts``: milliseconds since the epoch, or an ISO 8601 instant (``at``).
    - Tokens: ``inp``, ``out``, ``cc`` (5-minute cache writes), ``cc_1h`` (1-hour cache
      writes; the entry's cache writes are ``cc + cc_1h``), ``cr`` (cache reads); all 0.
    - ``fast``: ``usage.speed == "fast"``; ``speed``: ``usage.speed`` present at all
      (default: ``fast``).
    - ``mid``, ``rid``: message and request id, ``m<n>`` and ``r<n>`` by default (lines
      that do not merge in deduplication); ``None`` for a line without one.
    - ``file``: the transcript below ``projects/``, ``<project>/<session>.jsonl`` by
      default; when given it names the project and the session as discovery does (a
      sub-agent's ``<project>/<session>/subagents/<x>.jsonl`` belongs to its parent
      session). ``source`` is ``PROJECTS/<file>`` unless given.
    - ``session_field``: the line's own ``sessionId``; the file's session by default.
    """
    if isinstance(file, _Derived):
        file = f"{project}/{session}.jsonl"
    else:
        parts = file.split("/")
        project = parts[0]
        subagent = len(parts) >= 4 and parts[-2] == "subagents"
        session = parts[-3] if subagent else parts[-1].removesuffix(".jsonl")
    return UsageEntry(
        timestamp_ms=at(ts) if isinstance(ts, str) else ts,
        input_tokens=inp,
        output_tokens=out,
        cache_creation_tokens=cc + cc_1h,
        cache_creation_1h_tokens=cc_1h,
        cache_read_tokens=cr,
        model=model,
        fast=fast,
        has_speed=fast if isinstance(speed, _Derived) else speed,
        message_id=f"m{n}" if isinstance(mid, _Derived) else mid,
        request_id=f"r{n}" if isinstance(rid, _Derived) else rid,
        session_field=session if isinstance(session_field, _Derived) else session_field,
        cost_usd=cost,
        sidechain=sidechain,
        usage_limit_reset_ms=reset_ms,
        project=project,
        session=session,
        project_path=project,
        source=f"{PROJECTS}/{file}" if isinstance(source, _Derived) else source,
        offset=n,
    )
