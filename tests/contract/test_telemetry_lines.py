"""The entry store with telemetry lines: decided by request id on every backend.

A telemetry line (an ``api_request`` event's entry) survives while no transcript line of
its account carries its request id; ``kept_entries``, ``kept_changes`` (and so the
mirror) and ``prune`` agree with ``dedup.deduplicate`` over what is stored, whatever the
order lines arrive in. The telemetry store (metric points, retention sweeps):
``test_telemetry_store.py``.
"""

from __future__ import annotations

import itertools

import msgspec

from ccsync.server.mirror import Survivors
from ccsync.storage.history.entries import EntryStore
from ccsync.usage.dedup import deduplicate
from ccsync.usage.entry import TELEMETRY_SOURCE_PREFIX, UsageEntry
from factories import entry

ACCOUNT = "acct"
T0 = 1_780_000_000_000


def telemetry(n: int, rid: str, device: str = "laptop", **fields: object) -> UsageEntry:
    made = entry(n, mid=None, rid=rid, ts=T0 + n, **fields)  # type: ignore[arg-type]
    return msgspec.structs.replace(made, source=f"{TELEMETRY_SOURCE_PREFIX}{device}/{made.session}")


def transcript(n: int, mid: str, rid: str, **fields: object) -> UsageEntry:
    return entry(n, mid=mid, rid=rid, ts=T0 + n, **fields)  # type: ignore[arg-type]


async def survivors(store: EntryStore) -> list[UsageEntry]:
    return [stored.entry for stored in await store.kept_entries(ACCOUNT)]


async def test_telemetry_then_transcript_and_the_reverse(entries: EntryStore) -> None:
    copy = telemetry(1, "r1", inp=10, out=5)
    lines = [transcript(2, "m1", "r1", inp=10, out=1), transcript(3, "m1", "r1", inp=10, out=5)]
    other = telemetry(4, "r2", inp=7)
    mirror = Survivors(entries)
    await entries.ingest(ACCOUNT, "laptop", [copy, other], T0)
    assert await survivors(entries) == [copy, other]
    assert [s.entry for s in await mirror.entries(ACCOUNT)] == [copy, other]
    await entries.ingest(ACCOUNT, "desk", lines, T0)  # another device: the transcript
    assert await survivors(entries) == [lines[1], other]
    assert [s.entry for s in await mirror.entries(ACCOUNT)] == [lines[1], other]
    # a retry of the event changes nothing
    result = await entries.ingest(ACCOUNT, "laptop", [copy], T0)
    assert result.duplicate == 1
    assert await survivors(entries) == [lines[1], other]


def _of(account: str, line: UsageEntry) -> UsageEntry:
    """``line`` as another account's (a line's identity is unique in the whole store)."""
    if line.from_telemetry:
        source = line.source.replace(
            TELEMETRY_SOURCE_PREFIX, f"{TELEMETRY_SOURCE_PREFIX}{account}-"
        )
    else:
        source = f"{account}:{line.source}"
    return msgspec.structs.replace(line, source=source)


async def test_every_order_gives_ccusage_s_survivors(entries: EntryStore) -> None:
    batches = [
        [telemetry(1, "r1", out=5), telemetry(2, "r3", out=2)],
        [transcript(3, "m1", "r1", out=5)],
        [telemetry(4, "r1", device="desk", out=5), transcript(5, "m2", "r2", out=1)],
        [telemetry(6, "r2", device="desk", out=1)],
    ]
    every = [line for batch in batches for line in batch]
    expected = deduplicate(every)
    assert [e.request_id for e in expected] == ["r3", "r1", "r2"]
    mirror = Survivors(entries)
    for number, order in enumerate(itertools.permutations(batches)):
        account = f"a{number}"
        for batch in order:
            await entries.ingest(account, "d", [_of(account, e) for e in batch], T0)
            await mirror.entries(account)  # follow each change
        wanted = [_of(account, e) for e in expected]
        assert [s.entry for s in await entries.kept_entries(account)] == wanted
        assert [s.entry for s in await mirror.entries(account)] == wanted


async def test_pruning_the_transcript_uncovers_its_telemetry_copy(
    entries: EntryStore,
) -> None:
    old_line = transcript(1, "m1", "r1", out=5)
    copy = msgspec.structs.replace(telemetry(1, "r1", out=5), timestamp_ms=T0 + 10_000)
    await entries.ingest(ACCOUNT, "d", [old_line, copy], T0)
    assert await survivors(entries) == [old_line]
    result = await entries.prune(T0 + 5_000)
    assert result.entries == 1 and result.redecided == 1
    assert await survivors(entries) == [copy]
