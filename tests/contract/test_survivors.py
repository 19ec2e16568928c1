"""``kept_changes`` and the in-memory mirror built from it stay equal to ``kept_entries``,
whatever order, duplicates and concurrent writers the pushes come with (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import dataclasses
import random

from ccsync.server.mirror import Survivors
from ccsync.storage.history.base import HistoryStore
from ccsync.storage.history.blocks import BlockStore, StoredBlock
from ccsync.storage.history.entries import EntryStore, PruneResult, StoredEntry
from ccsync.storage.history.jobs import JobRecord, JobStore, RunRecord
from ccsync.usage.entry import UsageEntry

from .conftest import Target
from .records import entry

Batch = tuple[str, list[UsageEntry]]


def _pushes(seed: int) -> list[Batch]:
    """Batches from three devices: shared message ids, repeats, out-of-order times."""
    rng = random.Random(seed)
    batches = []
    for _ in range(40):
        device = rng.choice(["d1", "d2", "d3"])
        lines = [
            entry(
                rng.randrange(60),
                device=device,
                file=f"p/s{rng.randrange(3)}.jsonl",
                ts=rng.randrange(1_000, 50_000),
                mid=rng.choice([None, *(f"m{k}" for k in range(15))]),
                rid=rng.choice([None, "r1", "r2"]),
                tokens=rng.choice([10, 20, 30]),
                speed=rng.random() < 0.2,
            )
            for _ in range(rng.randrange(1, 12))
        ]
        batches.append((device, lines))
    return batches


def _view(entries: list[StoredEntry]) -> list[tuple[str, object]]:
    return [(s.device_id, s.entry) for s in entries]


async def test_applying_changes_reproduces_kept_entries(entries: EntryStore) -> None:
    mirror: dict[int, StoredEntry] = {}
    last_id = 0
    for step, (device, lines) in enumerate(_pushes(7)):
        await entries.ingest("acc", device, lines, step)
        changes = await entries.kept_changes("acc", last_id)
        for line_id in changes.dropped:
            mirror.pop(line_id, None)
        mirror.update(changes.kept)
        last_id = changes.last_id
        expected = _view(await entries.kept_entries("acc"))
        assert sorted(_view(list(mirror.values())), key=repr) == sorted(expected, key=repr)
    nothing = await entries.kept_changes("acc", last_id)
    assert (nothing.last_id, nothing.kept, nothing.dropped) == (last_id, [], [])
    assert (await entries.kept_changes("other", 0)).kept == []


async def test_the_mirror_answers_like_the_store(entries: EntryStore) -> None:
    survivors = Survivors(entries)
    for step, (device, lines) in enumerate(_pushes(11)):
        await entries.ingest("acc", device, lines, step)
        if step % 3:
            continue  # several pushes between reads, too
        for since, until in (
            (None, None),
            (10_000, None),
            (None, 20_000),
            (5_000, 5_000),
            (9_000, 30_000),
        ):
            assert _view(await survivors.entries("acc", since, until)) == _view(
                await entries.kept_entries("acc", since, until)
            ), (step, since, until)


async def test_the_mirror_follows_other_writers(target: Target) -> None:
    """Two other stores (server processes) ingest at once; a third one's mirror keeps up."""
    reader, first, second = await target.open(), await target.open(), await target.open()
    survivors = Survivors(reader.entries)
    pushes = _pushes(3)

    async def push(store: HistoryStore, batches: list[Batch]) -> None:
        for step, (device, lines) in enumerate(batches):
            await store.entries.ingest("acc", device, lines, step)
            await asyncio.sleep(0)

    async def read_along() -> None:
        for _ in range(20):
            await survivors.entries("acc")
            await asyncio.sleep(0)

    try:
        await asyncio.gather(push(first, pushes[::2]), push(second, pushes[1::2]), read_along())
        assert _view(await survivors.entries("acc")) == _view(
            await reader.entries.kept_entries("acc")
        )
    finally:
        for store in (reader, first, second):
            await store.aclose()


async def test_too_big_accounts_are_read_from_the_store(entries: EntryStore) -> None:
    survivors = Survivors(entries, max_entries=5)
    for step, (device, lines) in enumerate(_pushes(5)[:10]):
        await entries.ingest("acc", device, lines, step)
    assert _view(await survivors.entries("acc")) == _view(await entries.kept_entries("acc"))
    assert _view(await survivors.entries("acc", 2_000, 40_000)) == _view(
        await entries.kept_entries("acc", 2_000, 40_000)
    )


async def test_prune_deletes_old_history_and_decides_again(
    entries: EntryStore, blocks: BlockStore, jobs: JobStore
) -> None:
    # Message m1: a big old line (the survivor) and a smaller newer replay of it.
    old_big = entry(0, device="d1", ts=1_000, mid="m1", rid="r1", tokens=500)
    new_small = entry(1, device="d2", file="p/s2.jsonl", ts=9_000, mid="m1", rid="r1", tokens=100)
    lonely_old = entry(2, device="d1", ts=2_000, mid="m2", tokens=7)
    recent = entry(3, device="d1", ts=8_000, mid="m3", tokens=9)
    await entries.ingest("acc", "d1", [old_big, lonely_old, recent], 1)
    await entries.ingest("acc", "d2", [new_small], 1)
    survivors = Survivors(entries)
    assert {s.entry.offset for s in await survivors.entries("acc")} == {0, 2, 3}

    block = StoredBlock("acc", "d1", "b-old", 0, 4_000, 3_000, False, False, 1, 1, 1, 0, 0, 0.1)
    await blocks.replace_blocks(
        "acc", "d1", [block, dataclasses.replace(block, block_id="b-new", end_ms=20_000)]
    )
    await jobs.create_job(JobRecord(id="j", name="j", schedule="* * * * *", command="ccusage"))
    for started, ended in ((1_000, 1_500), (2_000, None), (9_000, 9_500)):
        run = RunRecord(
            "j", "command", "schedule", "i", started, scheduled_ms=started, ended_ms=ended
        )
        await jobs.start_run(run)

    result = await entries.prune(5_000)
    assert (result.entries, result.blocks, result.runs, result.redecided) == (2, 1, 1, 1)
    kept = await entries.kept_entries("acc")
    assert [(s.device_id, s.entry.offset) for s in kept] == [("d1", 3), ("d2", 1)]
    # The mirror sees the new generation and loads again.
    assert _view(await survivors.entries("acc")) == _view(kept)
    assert [b.block_id for b in await blocks.blocks("acc")] == ["b-new"]
    # A run still going is never deleted.
    assert sorted(r.started_ms for r in await jobs.runs("j")) == [2_000, 9_000]
    assert await entries.prune(5_000) == PruneResult()
