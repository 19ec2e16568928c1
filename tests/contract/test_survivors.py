"""``kept_changes`` and the in-memory mirror built from it stay equal to ``kept_entries``,
whatever order, duplicates and concurrent writers the pushes come with (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import random

from ccsync.storage.history.base import HistoryStore, StoredEntry
from ccsync.storage.history.sql import SqlHistoryStore
from ccsync.survivors import Survivors
from ccsync.usage.entry import UsageEntry

from .conftest import Target
from .test_history_store import entry

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


async def test_applying_changes_reproduces_kept_entries(history_store: SqlHistoryStore) -> None:
    mirror: dict[int, StoredEntry] = {}
    last_id = 0
    for step, (device, lines) in enumerate(_pushes(7)):
        await history_store.ingest("acc", device, lines, step)
        changes = await history_store.kept_changes("acc", last_id)
        for line_id in changes.dropped:
            mirror.pop(line_id, None)
        mirror.update(changes.kept)
        last_id = changes.last_id
        expected = _view(await history_store.kept_entries("acc"))
        assert sorted(_view(list(mirror.values())), key=repr) == sorted(expected, key=repr)
    nothing = await history_store.kept_changes("acc", last_id)
    assert (nothing.last_id, nothing.kept, nothing.dropped) == (last_id, [], [])
    assert (await history_store.kept_changes("other", 0)).kept == []


async def test_the_mirror_answers_like_the_store(history_store: SqlHistoryStore) -> None:
    survivors = Survivors(history_store)
    for step, (device, lines) in enumerate(_pushes(11)):
        await history_store.ingest("acc", device, lines, step)
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
                await history_store.kept_entries("acc", since, until)
            ), (step, since, until)


async def test_the_mirror_follows_other_writers(target: Target) -> None:
    """Two other stores (server processes) ingest at once; a third one's mirror keeps up."""
    reader, first, second = await target.open(), await target.open(), await target.open()
    survivors = Survivors(reader)
    pushes = _pushes(3)

    async def push(store: HistoryStore, batches: list[Batch]) -> None:
        for step, (device, lines) in enumerate(batches):
            await store.ingest("acc", device, lines, step)
            await asyncio.sleep(0)

    async def read_along() -> None:
        for _ in range(20):
            await survivors.entries("acc")
            await asyncio.sleep(0)

    try:
        await asyncio.gather(push(first, pushes[::2]), push(second, pushes[1::2]), read_along())
        assert _view(await survivors.entries("acc")) == _view(await reader.kept_entries("acc"))
    finally:
        for store in (reader, first, second):
            await store.aclose()


async def test_too_big_accounts_are_read_from_the_store(history_store: SqlHistoryStore) -> None:
    survivors = Survivors(history_store, max_entries=5)
    for step, (device, lines) in enumerate(_pushes(5)[:10]):
        await history_store.ingest("acc", device, lines, step)
    assert _view(await survivors.entries("acc")) == _view(await history_store.kept_entries("acc"))
    assert _view(await survivors.entries("acc", 2_000, 40_000)) == _view(
        await history_store.kept_entries("acc", 2_000, 40_000)
    )
