"""The entry store contract (``EntryStore``), on SQLite and PostgreSQL: every line stored
once by its identity, and the survivors ccusage's duplicate rules keep, whatever order the
devices push in (and however many servers take the pushes).

The history's identity and stream marks: ``test_history_identity.py``; the survivors'
changes, the mirror and pruning: ``test_survivors.py``; lines made from telemetry, decided
by request id: ``test_telemetry_lines.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest
from sqlalchemy.exc import DBAPIError

from ccsync.storage.history.base import HistoryStore
from ccsync.storage.history.devices import DeviceStore
from ccsync.storage.history.entries import EntryStore, IngestResult
from ccsync.usage.entry import UsageEntry, time_order

from .conftest import Target
from .records import entry, expected_view, kept_view, relocated

# -- ingest ----------------------------------------------------------------------------------


async def test_ingest_counts_accepted_and_duplicate_lines(entries: EntryStore) -> None:
    batch = [entry(0), entry(1, mid="n"), entry(2, mid=None)]
    assert await entries.ingest("acc", "d1", [*batch, batch[1]], 50) == _result(3, 1)
    assert await entries.ingest("acc", "d1", batch, 60) == _result(0, 3)
    assert await entries.ingest("acc", "d1", [], 70) == _result(0, 0)
    assert await entries.entry_count() == 3
    # A stored line sent with other contents is still the same line: nothing changes.
    changed = entry(2, mid=None, tokens=999)
    assert await entries.ingest("acc", "d1", [changed], 80) == _result(0, 1)
    assert [e.input_tokens for e in await entries.device_entries("acc", "d1")] == [
        100,
        100,
        100,
    ]


async def test_a_line_stored_for_another_account_is_a_duplicate(
    entries: EntryStore,
) -> None:
    """Lines are unique across accounts; the line that was refused takes no part in the
    decision of the account that sent it again."""
    rich = entry(0, tokens=999)
    await entries.ingest("other", "d1", [rich], 1)
    modest = entry(1, tokens=100)
    assert await entries.ingest("acc", "d1", [rich, modest], 2) == _result(1, 1)
    assert kept_view(await entries.kept_entries("acc")) == [("d1", modest)]
    assert kept_view(await entries.kept_entries("other")) == [("d1", rich)]
    assert await entries.entry_count("acc") == 1


async def test_ingest_registers_and_touches_the_device(
    devices: DeviceStore, entries: EntryStore
) -> None:
    await entries.ingest("acc", "new", [entry(0, device="new")], 50)
    device = await devices.get_device("new")
    assert device is not None
    assert (device.account, device.name, device.created_ms) == ("acc", "new", 50)
    assert (device.last_seen_ms, device.last_push_ms) == (50, 50)

    await devices.register_device("d1", "acc", 10, name="laptop")
    await entries.ingest("acc", "d1", [], 90)
    device = await devices.get_device("d1")
    assert device is not None
    assert (device.name, device.created_ms, device.last_seen_ms, device.last_push_ms) == (
        "laptop",
        10,
        90,
        90,
    )


async def test_a_failed_ingest_stores_nothing(devices: DeviceStore, entries: EntryStore) -> None:
    await entries.ingest("acc", "d1", [entry(0)], 10)
    too_big = entry(9, mid="x", tokens=2**64)  # no 64-bit column takes it
    with pytest.raises((OverflowError, DBAPIError)):
        await entries.ingest("acc", "d1", [entry(1, mid="y"), entry(0, tokens=500), too_big], 20)
    assert await entries.entry_count() == 1
    device = await devices.get_device("d1")
    assert device is not None and device.last_push_ms == 10
    assert kept_view(await entries.kept_entries("acc")) == [("d1", entry(0))]


# Scenarios: what each device pushes (one batch per device).
SCENARIOS: dict[str, dict[str, list[UsageEntry]]] = {
    "a later push holds a better duplicate": {
        "d1": [entry(0, device="d1", tokens=100)],
        "d2": [entry(0, device="d2", tokens=300)],
        "d3": [entry(4, device="d3", tokens=200)],
    },
    "equal duplicates: the first in canonical order": {
        "d2": [entry(0, device="d2")],
        "d1": [entry(3, device="d1")],
    },
    "sidechain replays": {
        "d1": [entry(0, device="d1", rid="r1"), entry(1, device="d1", rid=None, ts=5_000, mid="k")],
        "d2": [
            entry(0, device="d2", rid="r2", sidechain=True, tokens=900),
            entry(1, device="d2", rid="r3", sidechain=True, ts=1_500),
            entry(2, device="d2", rid=None, mid="k", ts=5_000, sidechain=True, tokens=50),
        ],
    },
    "lines without a message id all survive": {
        "d1": [entry(0, device="d1", mid=None), entry(1, device="d1", mid=None)],
        "d2": [entry(0, device="d2", mid=None)],
    },
    "lines without a request id": {
        "d1": [
            entry(0, device="d1", rid=None, session="a"),
            entry(1, device="d1", rid=None, session="b", tokens=50),
        ],
        "d2": [
            entry(0, device="d2", rid=None, session="a", tokens=400),
            entry(1, device="d2", rid=None, session=None, file="p/c.jsonl"),
        ],
    },
    "with and without a request id, speed ties": {
        "d1": [entry(0, device="d1"), entry(1, device="d1", rid=None)],
        "d2": [entry(0, device="d2", speed=True), entry(1, device="d2", rid="r2")],
    },
}


@pytest.mark.parametrize("pushed", SCENARIOS.values(), ids=SCENARIOS.keys())
async def test_survivors_do_not_depend_on_push_order(
    entries: EntryStore, pushed: dict[str, list[UsageEntry]]
) -> None:
    orders = list(itertools.permutations(pushed))
    assert len(orders) > 1
    for number, order in enumerate(orders):
        # Each order on an account of its own (lines are unique across accounts, so their
        # files get a prefix): a fresh decision every time.
        account = f"acc{number}"
        lines = relocated(pushed, account)
        for device in order:
            await entries.ingest(account, device, lines[device], 1)
        assert kept_view(await entries.kept_entries(account)) == expected_view(lines), order
    # One line per batch gives the same survivors as whole batches.
    lines = relocated(pushed, "singly")
    for device, batch in lines.items():
        for line in batch:
            await entries.ingest("singly", device, [line], 1)
    assert kept_view(await entries.kept_entries("singly")) == expected_view(lines)


async def test_a_better_duplicate_replaces_the_survivor(entries: EntryStore) -> None:
    early = entry(0, device="d1", tokens=100)
    await entries.ingest("acc", "d1", [early], 1)
    assert kept_view(await entries.kept_entries("acc")) == [("d1", early)]
    better = entry(7, device="d2", tokens=300)
    await entries.ingest("acc", "d2", [better], 2)
    assert kept_view(await entries.kept_entries("acc")) == [("d2", better)]
    # The replaced line is still stored, only no longer kept.
    assert await entries.device_entries("acc", "d1") == [early]
    # Other accounts never take part in an account's decision.
    await entries.ingest("other", "d9", [entry(0, device="d9", tokens=999)], 3)
    assert kept_view(await entries.kept_entries("acc")) == [("d2", better)]


@pytest.mark.parametrize("seed", [1, 2])
async def test_random_pushes_keep_what_deduplicate_keeps(entries: EntryStore, seed: int) -> None:
    rng = random.Random(seed)
    pushed: dict[str, list[UsageEntry]] = {device: [] for device in ("d1", "d2", "d3")}
    for device, lines in pushed.items():
        for n in range(120):
            mid = rng.choice([None, *(f"m{k}" for k in range(25))])
            lines.append(
                entry(
                    n,
                    device=device,
                    file=rng.choice(["p/a.jsonl", "p/b.jsonl", "q/a.jsonl"]),
                    ts=rng.choice([1_000, 2_000, 3_000]),
                    mid=mid,
                    rid=rng.choice(["r1", "r2", None]),
                    session=rng.choice(["a", "b", None]),
                    tokens=rng.choice([100, 200]),
                    sidechain=rng.random() < 0.3,
                    speed=rng.random() < 0.2,
                )
            )
    # Push in random batches that overlap (lines sent again), devices interleaved.
    batches = []
    for device, lines in pushed.items():
        start = 0
        while start < len(lines):
            end = start + rng.randint(5, 40)
            batches.append((device, lines[max(0, start - rng.randint(0, 5)) : end]))
            start = end
    rng.shuffle(batches)
    accepted = 0
    for device, batch in batches:
        result = await entries.ingest("acc", device, batch, 1)
        assert result.accepted + result.duplicate == len(batch)
        accepted += result.accepted
    assert accepted == 360 == await entries.entry_count("acc")
    assert kept_view(await entries.kept_entries("acc")) == expected_view(pushed)


@pytest.mark.parametrize("concurrent", [False, True], ids=["sequential", "concurrent"])
async def test_two_servers_ingesting_at_once_agree(target: Target, concurrent: bool) -> None:
    """Two stores on one database (two server processes) push overlapping message ids."""
    rng = random.Random(5)
    # Line n of both devices carries message n: each message is decided once per device,
    # at about the same time on both servers; a decision that missed the other server's
    # lines would keep two survivors.
    pushed = {
        device: [
            entry(n, device=device, mid=f"m{n}", tokens=rng.choice([100, 200, 300]))
            for n in range(600)
        ]
        for device in ("d1", "d2")
    }
    first, second = await target.open(), await target.open()

    async def push(store: HistoryStore, device: str) -> int:
        accepted = 0
        lines = pushed[device]
        for start in range(0, len(lines), 20):
            accepted += (
                await store.entries.ingest("acc", device, lines[start : start + 20], 1)
            ).accepted
        return accepted

    try:
        if concurrent:
            counts = await asyncio.gather(push(first, "d1"), push(second, "d2"))
        else:
            counts = [await push(first, "d1"), await push(second, "d2")]
        assert counts == [600, 600]
        assert kept_view(await first.entries.kept_entries("acc")) == expected_view(pushed)
        assert await second.entries.entry_count() == 1200
    finally:
        await first.aclose()
        await second.aclose()


# -- reading entries -------------------------------------------------------------------------


async def test_kept_entries_in_time_order_within_bounds(entries: EntryStore) -> None:
    lines = [
        entry(5, mid="a", ts=3_000),
        entry(1, mid="b", ts=2_000, file="q/z.jsonl"),
        entry(9, mid="c", ts=2_000),
        entry(0, mid=None, ts=1_000),
        entry(2, mid=None, ts=4_000),
    ]
    await entries.ingest("acc", "d1", lines, 1)
    await entries.ingest("other", "d2", [entry(0, device="d2", ts=2_500)], 1)
    ordered = sorted(lines, key=time_order)
    assert [s.entry for s in await entries.kept_entries("acc")] == ordered
    assert [s.entry.timestamp_ms for s in await entries.kept_entries("acc", 2_000, 4_000)] == [
        2_000,
        2_000,
        3_000,
    ]
    assert [s.entry.offset for s in await entries.kept_entries("acc", since_ms=3_000)] == [
        5,
        2,
    ]
    assert [s.entry.offset for s in await entries.kept_entries("acc", until_ms=2_000)] == [0]
    assert await entries.kept_entries("acc", 4_001) == []
    assert await entries.kept_entries("nobody") == []
    assert kept_view(await entries.kept_entries("other")) == [
        ("d2", entry(0, device="d2", ts=2_500))
    ]


async def test_device_entries_include_duplicates(entries: EntryStore) -> None:
    copies = [entry(0, ts=2_000), entry(1, ts=2_000, tokens=300), entry(2, mid=None, ts=1_000)]
    await entries.ingest("acc", "d1", copies, 1)
    await entries.ingest("acc", "d2", [entry(0, device="d2", ts=1_500)], 1)
    assert await entries.device_entries("acc", "d1") == sorted(copies, key=time_order)
    assert await entries.device_entries("acc", "d1", 2_000) == copies[:2]
    assert await entries.device_entries("acc", "d1", until_ms=2_000) == [copies[2]]
    assert await entries.device_entries("other", "d1") == []
    assert len(await entries.kept_entries("acc")) == 2  # d1's two copies are one


async def test_entry_count(entries: EntryStore) -> None:
    assert await entries.entry_count() == 0
    await entries.ingest("a", "d1", [entry(0), entry(1)], 1)
    await entries.ingest("b", "d2", [entry(0, device="d2")], 1)
    assert await entries.entry_count() == 3
    assert await entries.entry_count("a") == 2
    assert await entries.entry_count("b") == 1
    assert await entries.entry_count("c") == 0


async def test_entries_round_trip_every_field(entries: EntryStore) -> None:
    line = UsageEntry(
        timestamp_ms=1_767_225_600_123,
        input_tokens=2**40,
        output_tokens=2**33,
        cache_creation_tokens=12,
        cache_creation_1h_tokens=4,
        cache_read_tokens=2**35,
        model="<synthetic>",
        fast=True,
        has_speed=True,
        message_id="msg_é",
        request_id="req",
        session_field="sf",
        cost_usd=0.125,
        sidechain=True,
        usage_limit_reset_ms=1_767_230_000_000,
        project="proj",
        session="sess",
        project_path="proj/path",
        source="d1/projects/proj/sess.jsonl",
        offset=2**40,
    )
    bare = entry(3, mid=None, rid=None, session=None)
    await entries.ingest("acc", "d1", [line, bare], 1)
    assert await entries.device_entries("acc", "d1") == [bare, line]
    assert [s.entry for s in await entries.kept_entries("acc")] == [bare, line]


# -- helpers ---------------------------------------------------------------------------------


def _result(accepted: int, duplicate: int) -> IngestResult:
    return IngestResult(accepted=accepted, duplicate=duplicate)
