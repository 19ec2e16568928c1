"""Hypothesis strategies for transcripts, in one place."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ccsync.usage.entry import UsageEntry
from ccsync.usage.limits import Reading
from ccsync.usage.reports import PricedEntry
from fixtures.lines import assistant, dump, usage

MODELS = [
    "claude-sonnet-4-20250514",
    "claude-sonnet-4-5-20250929",
    "claude-opus-4-1-20250805",
    "claude-opus-4-6",
    "claude-haiku-4-5-20251001",
    "acme-llm-1",
    "<synthetic>",
]
TIMES = [
    "2026-10-31T22:59:59.999Z",
    "2026-11-01T00:10:00.000Z",
    "2026-11-01T03:00:00.000Z",
    "2026-11-01T09:30:00+05:30",
    "2026-11-01T13:00:00.000Z",
    "2026-11-02T01:00:00Z",
    "2026-11-02T23:30:00.000-08:00",
    "2026-11-09T12:00:00.000Z",
]


@st.composite
def usage_line(draw: st.DrawFn, with_cost_on_empty: bool = False) -> dict[str, Any]:
    """An assistant line; small pools of ids and sessions make duplicates common."""
    big = st.integers(0, 400_000)
    small = st.integers(0, 5_000)
    tokens = draw(st.tuples(st.one_of(small, big), small, st.one_of(small, big), small))
    u = usage(*tokens)
    if draw(st.booleans()):
        one_hour = draw(st.integers(0, tokens[2]))
        u["cache_creation"] = {
            "ephemeral_5m_input_tokens": tokens[2] - one_hour,
            "ephemeral_1h_input_tokens": one_hour,
        }
    speed = draw(st.sampled_from([None, "standard", "fast"]))
    if speed is not None:
        u["speed"] = speed
    cost = draw(st.one_of(st.none(), st.floats(0, 5, allow_nan=False)))
    if sum(tokens) == 0 and not with_cost_on_empty:
        cost = None  # ccusage drops token-less sessions: their cost would leave the session report
    return assistant(
        draw(st.sampled_from(TIMES)),
        session=draw(st.sampled_from(["s1", "s2", None])),
        msg_id=draw(st.sampled_from(["m1", "m2", "m3", "m4", None])),
        req_id=draw(st.sampled_from(["r1", "r2", "r3", None])),
        model=draw(st.sampled_from([*MODELS, None])),
        u=u,
        sidechain=draw(st.booleans()),
        cost=cost,
    )


junk_line = st.sampled_from(
    [
        "",
        "   ",
        '{"type":"user","message":{"role":"user","content":"hi"},"timestamp":"2026-11-01T00:00:00.000Z"}',
        '{"timestamp": broken json',
        '{"usage":{"input_tokens":1}}',
        '{"type":"summary","summary":"x","leafUuid":"y"}',
        "\x00\xff not json",
    ]
)


def line_text(line: dict[str, Any] | str) -> str:
    return dump(line) if isinstance(line, dict) else line


transcript = st.lists(st.one_of(usage_line().map(line_text), junk_line), max_size=14)
"""The lines of one file."""

FILES = ["p1/s1.jsonl", "p1/s2.jsonl", "p1/s1/subagents/agent-a.jsonl", "p2/s3.jsonl"]

device = st.dictionaries(st.sampled_from(FILES), transcript, max_size=4)
"""One device's files: relative path below ``projects/`` to lines."""

corpus = st.dictionaries(
    st.sampled_from(["device1", "device2", "device3"]), device, min_size=1, max_size=3
)
"""Several devices of one account."""


# Limits (usage.limits): priced entries of several devices and official readings, around
# LIMITS_NOW.

LIMITS_NOW = 1_799_143_200_000  # 2027-01-05T10:00:00Z
_LIMIT_HOUR = 3_600_000
_LIMIT_DAY = 24 * _LIMIT_HOUR
LIMIT_DEVICES = ["desk", "laptop", "phone"]
LIMIT_MODELS = [
    "claude-opus-4-5-20251101",
    "claude-sonnet-5-5",
    "claude-3-5-sonnet-20241022",
    "<synthetic>",
    None,
]
LIMIT_WINDOWS = ["five_hour", "seven_day", "seven_day_opus", "seven_day_sonnet", "overage"]


@st.composite
def priced_entry(draw: st.DrawFn) -> PricedEntry:
    """An entry from 40 days before ``LIMITS_NOW`` to a day after it (a fast clock)."""
    ts = LIMITS_NOW + draw(st.integers(-40 * _LIMIT_DAY, _LIMIT_DAY))
    tokens = draw(st.tuples(*[st.integers(0, 50_000)] * 4))
    serial = draw(st.integers(0, 10**9))
    entry = UsageEntry(
        ts, tokens[0], tokens[1], tokens[2], 0, tokens[3], draw(st.sampled_from(LIMIT_MODELS)),
        False, False, f"m{serial}", f"r{serial}", "s", None, False, None, "p", "s", "p",
        "/p/s.jsonl", serial,
    )  # fmt: skip
    cost = draw(st.floats(0, 5, allow_nan=False))
    return PricedEntry(entry, cost, None, device=draw(st.sampled_from(LIMIT_DEVICES)))


priced_entries = st.lists(priced_entry(), max_size=40).map(
    lambda items: sorted(items, key=lambda item: item.entry.timestamp_ms)
)
"""Deduplicated entries of every device in time order, as the server passes them."""


@st.composite
def limit_reading(draw: st.DrawFn) -> Reading:
    """Any reading: past, valid or from the future; with or without a reset; odd percentages."""
    observed = LIMITS_NOW + draw(st.integers(-35 * _LIMIT_DAY, _LIMIT_DAY))
    reset = draw(st.one_of(st.none(), st.integers(-8 * _LIMIT_DAY, 8 * _LIMIT_DAY)))
    return Reading(
        window=draw(st.sampled_from(LIMIT_WINDOWS)),
        used_percentage=draw(st.one_of(st.floats(0, 120), st.floats())),
        resets_at_ms=None if reset is None else observed + reset,
        source=draw(st.sampled_from(["statusline", "transcript", "warmup", "usage_api"])),
        device_id=draw(st.sampled_from(LIMIT_DEVICES)),
        observed_ms=observed,
    )


limit_readings = st.lists(limit_reading(), max_size=12)
