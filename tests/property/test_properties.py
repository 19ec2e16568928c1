"""Properties of the engine that must hold for any transcripts."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from ccsync.usage import ReportKind, ReportOptions, build_report
from ccsync.usage.discovery import attribute
from ccsync.usage.entry import UsageEntry
from ccsync.usage.parse import ParseStats, TranscriptReader, parse_buffer
from strategies import corpus, transcript

OPTIONS = ReportOptions(timezone="UTC")
NOW = 1_793_600_000_000  # 2026-11-02: some blocks are active
PERIODS = (ReportKind.DAILY, ReportKind.WEEKLY, ReportKind.MONTHLY, ReportKind.SESSION)
TOKEN_KEYS = (
    "inputTokens",
    "outputTokens",
    "cacheCreationTokens",
    "cacheReadTokens",
    "totalTokens",
)

Corpus = dict[str, dict[str, list[str]]]


def file_bytes(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


def entries_of(data: Corpus, device_order: list[str] | None = None) -> list[UsageEntry]:
    entries: list[UsageEntry] = []
    for device in device_order or list(data):
        for path, lines in data[device].items():
            context = attribute(path.split("/"), f"{device}/projects/{path}")
            entries += parse_buffer(file_bytes(lines), context, ParseStats())
    return entries


def all_reports(entries: list[UsageEntry]) -> dict[ReportKind, dict[str, object]]:
    reports = {kind: build_report(kind, entries, OPTIONS, NOW) for kind in PERIODS}
    reports[ReportKind.BLOCKS] = build_report(ReportKind.BLOCKS, entries, OPTIONS, NOW)
    return reports


@given(corpus)
def test_every_report_has_the_same_totals(data: Corpus) -> None:
    reports = all_reports(entries_of(data))
    daily = reports[ReportKind.DAILY]["totals"]
    assert isinstance(daily, dict)
    for kind in PERIODS:
        totals = reports[kind]["totals"]
        assert isinstance(totals, dict)
        assert {k: totals[k] for k in TOKEN_KEYS} == {k: daily[k] for k in TOKEN_KEYS}
        assert abs(totals["totalCost"] - daily["totalCost"]) < 1e-6
    blocks = reports[ReportKind.BLOCKS]["blocks"]
    assert isinstance(blocks, list)
    assert sum(b["totalTokens"] for b in blocks) == daily["totalTokens"]
    assert abs(sum(b["costUSD"] for b in blocks) - daily["totalCost"]) < 1e-6


@given(corpus, st.randoms(use_true_random=False))
def test_the_order_of_devices_files_and_entries_does_not_matter(
    data: Corpus, rnd: random.Random
) -> None:
    expected = all_reports(entries_of(data))
    devices = list(data)
    rnd.shuffle(devices)
    shuffled = entries_of(data, devices)
    rnd.shuffle(shuffled)
    assert all_reports(shuffled) == expected


@given(corpus, st.randoms(use_true_random=False))
def test_pushing_the_same_data_twice_changes_nothing(data: Corpus, rnd: random.Random) -> None:
    entries = entries_of(data)
    again = entries + rnd.sample(entries, len(entries))
    assert all_reports(again) == all_reports(entries)


@settings(max_examples=200)
@given(transcript, st.lists(st.integers(0, 4000), max_size=12), st.booleans())
def test_any_split_into_chunks_parses_the_same(
    lines: list[str], cuts: list[int], trailing_newline: bool
) -> None:
    data = file_bytes(lines)
    if not trailing_newline:
        data = data[:-1]
    context = attribute(["p", "s.jsonl"], "device/projects/p/s.jsonl")
    whole_stats = ParseStats()
    whole = parse_buffer(data, context, whole_stats)
    reader = TranscriptReader(context)
    pieces: list[UsageEntry] = []
    start = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        pieces += reader.feed(data[start:cut])
        start = cut
    pieces += reader.feed(data[start:])
    pieces += reader.flush()
    assert pieces == whole
    assert reader.offset == len(data)
    assert (reader.stats.lines, reader.stats.entries, reader.stats.malformed) == (
        whole_stats.lines,
        whole_stats.entries,
        whole_stats.malformed,
    )
