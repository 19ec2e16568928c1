"""Deduplication: the probes measured on ccusage 20.0.24 (its regular loader)."""

from __future__ import annotations

import functools
import itertools
import random

import pytest

import factories
from ccsync.usage.dedup import deduplicate
from ccsync.usage.entry import UsageEntry

entry = functools.partial(
    factories.entry, ts=1_000, mid="m", rid="r", session_field="s1", inp=100, file="p/s1.jsonl"
)
"""Probe line ``n`` (its offset): in ``p/s1.jsonl``, at 1 s, 100 input tokens, and the same
key as every other probe line (message ``m``, request ``r``, ``sessionId`` ``s1``) unless it
says otherwise (``file`` names the project and the session below ``projects/``)."""


def survivors(*entries: UsageEntry) -> list[int]:
    return sorted(e.offset for e in deduplicate(entries))


PROBES: dict[str, tuple[list[UsageEntry], list[int]]] = {
    "P1 same key, 2nd has more tokens": ([entry(0), entry(1, inp=200)], [1]),
    "P1b same key, 1st has more tokens": ([entry(0, inp=200), entry(1)], [0]),
    "P1c same key, equal tokens, 2nd costs more": ([entry(0), entry(1, cost=9.0)], [0]),
    "P2 same key in two session files": (
        [
            entry(0, file="p/a.jsonl", session_field="a"),
            entry(1, file="p/b.jsonl", session_field="b"),
        ],
        [0],
    ),
    "P2b same key in two projects, 2nd more tokens": (
        [entry(0, file="p/a.jsonl"), entry(1, file="q/a.jsonl", inp=200)],
        [1],
    ),
    "P3 no requestId, same session and time": (
        [entry(0, rid=None), entry(1, rid=None, inp=200)],
        [1],
    ),
    "P4 no requestId, same session, other time": (
        [entry(0, rid=None), entry(1, rid=None, ts=2_000, inp=200)],
        [1],
    ),
    "P5 no requestId, other sessions": (
        [entry(0, rid=None, session_field="a"), entry(1, rid=None, session_field="b", inp=200)],
        [0, 1],
    ),
    "P6 sidechain replay, same session and time": (
        [entry(0), entry(1, rid="r2", sidechain=True, inp=900)],
        [0],
    ),
    "P7 sidechain replay, other time": (
        [entry(0), entry(1, rid="r2", sidechain=True, ts=1_500)],
        [0, 1],
    ),
    "P7b sidechain replay seen first": (
        [
            entry(0, file="p/a.jsonl", rid="r2", sidechain=True, inp=900),
            entry(1, file="p/b.jsonl"),
        ],
        [1],
    ),
    "P8 sidechain replay in another session": (
        [entry(0), entry(1, rid="r2", sidechain=True, session_field="s2")],
        [0, 1],
    ),
    "P9 same message id, other requestId": ([entry(0), entry(1, rid="r2")], [0, 1]),
    "P10 no requestId, same sessionId field, two files": (
        [entry(0, file="p/a.jsonl", rid=None), entry(1, file="p/b.jsonl", rid=None, ts=2_000)],
        [0],
    ),
    "P11 no requestId nor sessionId, two files": (
        [
            entry(0, file="p/a.jsonl", rid=None, session_field=None),
            entry(1, file="p/b.jsonl", rid=None, session_field=None),
        ],
        [0, 1],
    ),
    "P11b no requestId nor sessionId, parent and its sub-agent": (
        [
            entry(0, file="p/a.jsonl", rid=None, session_field=None),
            entry(1, file="p/a/subagents/x.jsonl", rid=None, session_field=None),
        ],
        [0],
    ),
    "P12 no requestId nor sessionId, one file, other time": (
        [
            entry(0, rid=None, session_field=None),
            entry(1, rid=None, session_field=None, ts=2_000, inp=200),
        ],
        [1],
    ),
    "P13 no message id": ([entry(0, mid=None), entry(1, mid=None)], [0, 1]),
    "P14 same message id, with and without requestId": ([entry(0), entry(1, rid=None)], [0, 1]),
    "P15 path order, not time order": (
        [entry(0, file="p/a.jsonl", ts=5_000), entry(1, file="p/b.jsonl", ts=1_000)],
        [0],
    ),
    "X1 no requestId, one file and time, other sessionId": (
        [entry(0, rid=None, session_field="a"), entry(1, rid=None, session_field="b")],
        [0, 1],
    ),
    "speed breaks a tie": ([entry(0), entry(1, speed=True)], [1]),
    "main chain beats a sidechain with more tokens": (
        [entry(0, sidechain=True, inp=900), entry(1)],
        [1],
    ),
}


@pytest.mark.parametrize(("entries", "expected"), PROBES.values(), ids=PROBES.keys())
def test_probe(entries: list[UsageEntry], expected: list[int]) -> None:
    assert survivors(*entries) == expected


@pytest.mark.parametrize(("entries", "expected"), PROBES.values(), ids=PROBES.keys())
def test_probe_in_any_input_order(entries: list[UsageEntry], expected: list[int]) -> None:
    for order in itertools.permutations(entries):
        assert survivors(*order) == expected


def test_the_same_line_twice_is_one_entry() -> None:
    once = [entry(0, mid=None), entry(1), entry(2, rid=None)]
    assert deduplicate(once + once) == deduplicate(once)


def test_replacement_moves_the_slot_key() -> None:
    # Entry 1 replays entry 0 (same time, sidechain) and, with more tokens, takes its slot.
    # The slot now holds key r2, so entry 2 (key r1, another time) matches nothing.
    entries = [
        entry(0, sidechain=True, rid="r1"),
        entry(1, sidechain=True, rid="r2", inp=300),  # replays 0 (same time): replaces it
        entry(2, sidechain=True, rid="r1", ts=9_000),  # key r1 no longer held by the slot
    ]
    assert survivors(*entries) == [1, 2]


def test_large_random_groups_are_order_independent() -> None:
    rng = random.Random(7)
    pool = [
        entry(
            n,
            file=rng.choice(["p/a.jsonl", "p/b.jsonl", "p/a/subagents/x.jsonl", "q/c.jsonl"]),
            ts=rng.choice([1_000, 2_000]),
            rid=rng.choice(["r1", "r2", None]),
            session_field=rng.choice(["a", "b", None]),
            inp=rng.choice([100, 200]),
            sidechain=rng.random() < 0.3,
            speed=rng.random() < 0.2,
        )
        for n in range(40)
    ]
    expected = deduplicate(pool)
    for _ in range(20):
        rng.shuffle(pool)
        assert deduplicate(pool) == expected
