"""Telemetry copies of a request meet its transcript lines: the rule of ``dedup``.

An entry made from an OpenTelemetry ``api_request`` event has the request id and no
message id. It counts only while no transcript line has its request id, and one copy of
a request counts, whatever the order entries arrive in.
"""

from __future__ import annotations

import itertools
import random

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from ccsync.usage.dedup import dedupe_request, deduplicate
from ccsync.usage.entry import TELEMETRY_SOURCE_PREFIX, UsageEntry
from factories import entry


def telemetry(n: int, rid: str, *, device: str = "laptop", **fields: object) -> UsageEntry:
    """The telemetry copy of request ``rid`` (offset ``n``), as ``otlp.mapping`` makes it."""
    made = entry(n, mid=None, rid=rid, **fields)  # type: ignore[arg-type]
    return _replace(made, source=f"{TELEMETRY_SOURCE_PREFIX}{device}/{made.session}")


def _replace(value: UsageEntry, **changes: object) -> UsageEntry:
    return msgspec.structs.replace(value, **changes)


def test_a_telemetry_entry_is_marked_by_its_source_and_missing_message_id() -> None:
    assert telemetry(1, "r1").from_telemetry
    assert not entry(1).from_telemetry
    # a transcript line without a message id is not one, whatever its source
    assert not entry(1, mid=None).from_telemetry
    assert not _replace(telemetry(1, "r1"), message_id="m1").from_telemetry


def test_the_transcript_copy_wins_in_either_order() -> None:
    line = entry(1, rid="r1", inp=10, out=5)
    copy = telemetry(2, "r1", inp=10, out=5)
    for order in itertools.permutations([line, copy]):
        assert deduplicate(order) == [line]


def test_the_transcript_copy_wins_even_when_it_is_not_kept_itself() -> None:
    # two transcript lines of one message; the telemetry copy of their request yields to both
    first = entry(1, mid="m", rid="r", out=1)
    final = entry(2, mid="m", rid="r", out=9)
    copy = telemetry(3, "r", out=9)
    assert deduplicate([copy, first, final]) == [final]


def test_a_request_seen_only_through_telemetry_counts_once() -> None:
    one = telemetry(1, "r1", inp=3, device="laptop")
    again = telemetry(1, "r1", inp=3, device="laptop")  # an exporter's retry: the same line
    other_device = telemetry(2, "r1", inp=3, device="desk")
    # equal copies: the first in canonical order (otlp://desk/… before otlp://laptop/…)
    assert deduplicate([one, again, other_device]) == [other_device]
    assert deduplicate([other_device, one]) == [other_device]
    assert deduplicate([one, again]) == [one]


def test_among_telemetry_copies_ccusage_s_order_decides() -> None:
    sidechain = telemetry(1, "r", out=9, sidechain=True)
    main = telemetry(2, "r", out=1)
    assert dedupe_request([sidechain, main]) == [main]
    small, large = telemetry(1, "r", out=1), telemetry(2, "r", out=2)
    assert dedupe_request([large, small]) == [large]
    assert dedupe_request([entry(5, rid="r"), small]) == []


def test_transcript_lines_keep_ccusage_s_rules() -> None:
    lines = [entry(1, mid="m", rid="r", out=3), entry(2, mid="m", rid="r", out=4), entry(3)]
    assert deduplicate(lines) == deduplicate([*lines, telemetry(9, "r"), telemetry(8, "r3")])


@given(st.lists(st.integers(0, 5), min_size=1, max_size=12), st.randoms())
def test_survivors_do_not_depend_on_the_order(picks: list[int], rnd: random.Random) -> None:
    made = []
    for n, pick in enumerate(picks):
        rid = f"r{pick % 3}"
        if pick < 3:
            made.append(telemetry(n, rid, out=pick, device=f"d{pick}"))
        else:
            made.append(entry(n, mid=f"m{pick % 3}", rid=rid, out=pick))
    shuffled = made[:]
    rnd.shuffle(shuffled)
    kept = deduplicate(made)
    assert kept == deduplicate(shuffled)
    transcript_requests = {e.request_id for e in made if not e.from_telemetry}
    for survivor in kept:
        if survivor.from_telemetry:
            assert survivor.request_id not in transcript_requests
    telemetry_requests = {e.request_id for e in kept if e.from_telemetry}
    assert len(telemetry_requests) == sum(1 for e in kept if e.from_telemetry)
