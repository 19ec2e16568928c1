"""Hypothesis strategies for transcripts, in one place."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

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
