"""Deduplication as ccusage 20.0.24's regular loader does it, independent of input order.

Claude Code writes one line per content block of a response, streams placeholder
copies, and replays messages into resumed sessions and sidechains. ccusage keeps one
entry per duplicate group, walking files in path order:

- no ``message.id``: the entry never merges;
- with ``requestId``: the key is ``(message.id, requestId)``, across sessions, projects
  and devices;
- without: the key is ``(message.id, session)``, where the session is the line's
  ``sessionId`` field, else its file's;
- with no key match, a sidechain replay matches a kept entry of the same message id,
  session and timestamp when either of the two is a sidechain;
- of two matches the main-chain entry wins over a sidechain one, then the one with more
  tokens, then the one that has ``usage.speed``, then the first seen.

"First seen" makes ccusage depend on the order it reads files in. Here every entry is
first put in a canonical order, its ``(source, offset)``: for files on one machine that
is ccusage's path order, and the result is the same whatever order entries arrive in.
Only entries with the same message id can ever merge, so the work splits by message id:
``dedupe_message`` decides one group, which lets a store re-decide just the groups that
a new batch of entries touches.

Entries made from Claude Code's OpenTelemetry events (``UsageEntry.from_telemetry``) have
no message id, only the request id the transcript's ``requestId`` equals. ccusage never
sees them, so they may not change what it counts: one stands in for its request only
while no transcript line of the account carries that request id (whatever its message
id, kept or not). Among telemetry copies of one request the same order decides as among
transcript lines (main chain, more tokens, ``speed``, first in canonical order), and one
survives. So reports over transcripts are ccusage's whether or not telemetry came too,
and a request seen only through telemetry counts once. ``dedupe_request`` decides one
request id's group.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from operator import attrgetter
from typing import TypeVar

from ccsync.usage.entry import UsageEntry, time_order

_Key = tuple[bool, str]
"""Within one message id: ``(True, requestId)``, or ``(False, session)`` without a request id."""
_K = TypeVar("_K", bound=Hashable)


canonical_order: Callable[[UsageEntry], tuple[str, int]] = attrgetter("source", "offset")
"""The position of an entry in the order deduplication walks: file, then byte offset."""


def deduplicate(entries: Iterable[UsageEntry]) -> list[UsageEntry]:
    """The entries ccusage counts, sorted by time (then canonical order).

    The same line given twice (same ``source`` and ``offset``) is one entry.
    """
    groups: dict[str, list[UsageEntry]] = {}
    without_id: dict[tuple[str, int], UsageEntry] = {}
    by_request: dict[str, list[UsageEntry]] = {}
    transcript_requests: set[str] = set()
    for entry in entries:
        message_id = entry.message_id
        request_id = entry.request_id
        if request_id is not None:
            if entry.from_telemetry:
                by_request.setdefault(request_id, []).append(entry)
                continue
            transcript_requests.add(request_id)
        if message_id is None:
            without_id.setdefault(canonical_order(entry), entry)
        else:
            group = groups.get(message_id)
            if group is None:
                groups[message_id] = [entry]
            else:
                group.append(entry)
    kept = list(without_id.values())
    for group in groups.values():
        if len(group) == 1:
            kept.append(group[0])
        else:
            kept.extend(dedupe_message(group))
    for request_id, copies in by_request.items():
        if request_id not in transcript_requests:
            kept.extend(dedupe_request(copies))
    kept.sort(key=time_order)
    return kept


def dedupe_request(group: Sequence[UsageEntry]) -> list[UsageEntry]:
    """The telemetry survivor among entries that share one request id (any input order):
    none when a transcript line is among them (its message id decides about it), else the
    best telemetry copy. The same copy given twice is one."""
    if not group or not all(entry.from_telemetry for entry in group):
        return []
    return [min(group, key=_walk_rank)]


def dedupe_message(group: Sequence[UsageEntry]) -> list[UsageEntry]:
    """The survivors among entries that share one ``message.id`` (any input order)."""
    request_id = group[0].request_id
    if request_id is not None and all(entry.request_id == request_id for entry in group):
        # One key: every entry matches the one slot, and the walk keeps the best entry,
        # the first in canonical order among equals.
        return [min(group, key=_walk_rank)]
    ordered = sorted({canonical_order(e): e for e in group}.values(), key=canonical_order)
    kept: list[UsageEntry] = []
    by_key: dict[_Key, list[int]] = {}
    by_session: dict[str, list[int]] = {}
    for entry in ordered:
        session = entry.effective_session
        key = _key(entry)
        slot = _find_slot(kept, by_key.get(key, ()), key)
        if slot is None:
            slot = _find_replayed(kept, by_session.get(session, ()), entry, session)
        if slot is None:
            slot = len(kept)
            kept.append(entry)
        elif _better(entry, kept[slot]):
            kept[slot] = entry
        else:
            continue
        _index(by_key, key, slot)
        _index(by_session, session, slot)
    return kept


def _walk_rank(entry: UsageEntry) -> tuple[bool, int, bool, str, int]:
    """Smaller is kept: main chain, more tokens, has ``speed``, then first seen."""
    return (entry.sidechain, -entry.total_tokens, not entry.has_speed, entry.source, entry.offset)


def _key(entry: UsageEntry) -> _Key:
    if entry.request_id is not None:
        return (True, entry.request_id)
    return (False, entry.effective_session)


def _find_slot(kept: list[UsageEntry], slots: Iterable[int], key: _Key) -> int | None:
    # A slot's entry may have been replaced since it was indexed: compare its key now.
    for slot in slots:
        if _key(kept[slot]) == key:
            return slot
    return None


def _find_replayed(
    kept: list[UsageEntry], slots: Iterable[int], entry: UsageEntry, session: str
) -> int | None:
    for slot in slots:
        other = kept[slot]
        if (
            other.effective_session == session
            and other.timestamp_ms == entry.timestamp_ms
            and (entry.sidechain or other.sidechain)
        ):
            return slot
    return None


def _index(index: dict[_K, list[int]], key: _K, slot: int) -> None:
    slots = index.setdefault(key, [])
    if slot not in slots:
        slots.append(slot)


def _better(candidate: UsageEntry, existing: UsageEntry) -> bool:
    if candidate.sidechain != existing.sidechain:
        return existing.sidechain
    if candidate.total_tokens != existing.total_tokens:
        return candidate.total_tokens > existing.total_tokens
    return candidate.has_speed and not existing.has_speed
