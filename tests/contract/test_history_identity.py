"""The history's identity in the store: a random id made with the database, and each
agent stream's mark, moved with the lines it numbers (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from ccsync.storage.history import open_history_store
from ccsync.storage.history.entries import EntryStore, StreamMark
from ccsync.usage.entry import UsageEntry

from .conftest import Target


def line(offset: int, source: str = "d1:/p/s.jsonl") -> UsageEntry:
    return UsageEntry(
        *(1_000 + offset, 10, 5, 0, 0, 0, "claude-sonnet-4-20250514", False, False),
        *(None, None, None, None, False, None, "p", "s", "p", source, offset),
    )


async def test_the_history_id_is_made_with_the_database(
    entries: EntryStore, target: Target, tmp_path: Path
) -> None:
    made = await entries.history_id()
    assert len(made) == 32
    again = await target.open()  # the same database: the same history
    try:
        assert await again.entries.history_id() == made
    finally:
        await again.aclose()
    other = await open_history_store(f"sqlite:///{quote(str(tmp_path / 'other.db'))}")
    try:
        assert await other.entries.history_id() != made  # a new (or wiped) database: another
    finally:
        await other.aclose()


async def test_a_mark_moves_with_the_lines_it_numbers(entries: EntryStore) -> None:
    assert await entries.device_mark("d1", "a") == 0
    first = await entries.ingest("acc", "d1", [line(0), line(1)], 1, mark=StreamMark("a", 2, 0))
    assert (first.accepted, first.mark) == (2, 2)
    second = await entries.ingest("acc", "d1", [line(2)], 2, mark=StreamMark("a", 5, 2))
    assert second.mark == 5
    assert await entries.device_mark("d1", "a") == 5
    late = await entries.ingest("acc", "d1", [line(1)], 3, mark=StreamMark("a", 2, 0))
    assert (late.duplicate, late.mark) == (1, 5)  # an older push arriving late: no step back
    assert await entries.device_mark("d1", "b") == 0  # per stream
    assert await entries.device_mark("d2", "a") == 0  # and per device
    unnumbered = await entries.ingest("acc", "d1", [line(3)], 4)
    assert unnumbered.mark is None


async def test_a_mark_stays_below_lines_the_store_lacks(entries: EntryStore) -> None:
    """The agent saw up to 9 acknowledged, this database holds up to 2 (a restored
    backup): the lines are stored, the mark stays, and tells the agent."""
    await entries.ingest("acc", "d1", [line(0)], 1, mark=StreamMark("a", 2, 0))
    behind = await entries.ingest("acc", "d1", [line(5)], 2, mark=StreamMark("a", 12, 9))
    assert (behind.accepted, behind.mark) == (1, 2)
    fresh = await entries.ingest("acc", "d1", [line(6)], 3, mark=StreamMark("b", 12, 9))
    assert (fresh.accepted, fresh.mark) == (1, 0)  # a stream it never heard of
    resent = await entries.ingest("acc", "d1", [line(0), line(5)], 4, mark=StreamMark("a", 20, 2))
    assert (resent.duplicate, resent.mark) == (2, 20)  # re-read from the mark it confirmed
