"""Line acceptance: the probe table measured on ccusage 20.0.24, and robustness."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccsync.usage.parse import FileContext, ParseStats, has_forbidden_null, parse_buffer, parse_line
from fixtures.lines import assistant, dump, usage

CONTEXT = FileContext("/data/projects/p/s1.jsonl", "p", "s1", "p")


def parse_one(line: str | bytes) -> object:
    raw = line.encode() if isinstance(line, str) else line
    return parse_line(raw, CONTEXT, 0, ParseStats())


def baseline(**changes: object) -> dict[str, object]:
    return assistant(**changes)  # type: ignore[arg-type]


ACCEPTED = {
    "baseline": dump(baseline()),
    "parentUuid null": dump(baseline()).replace('"parentUuid":null', '"parentUuid":null'),
    "stop_reason null": dump(baseline()).replace('"stop_reason":"end_turn"', '"stop_reason":null'),
    "+09:00 offset": dump(baseline(ts="2026-11-01T19:00:00.000+09:00")),
    "no millis": dump(baseline(ts="2026-11-01T10:00:00Z")),
    "offset without millis": dump(baseline(ts="2026-11-01T10:00:00-05:30")),
    "version 2.0.1-beta": dump(baseline(version="2.0.1-beta")),
    "version missing": dump(baseline(version=None)),
    "model missing": dump(baseline(model=None)),
    "CRLF line ending": dump(baseline()) + "\r",
    "type user with usage": dump(baseline(type="user")),
    "cache_creation breakdown": dump(
        baseline(
            u=usage(
                cc=30,
                cache_creation={"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 20},
            )
        )
    ),
    "speed fast": dump(baseline(u=usage(speed="fast"))),
    "costUSD integer": dump(baseline(cost=1)),
    "isSidechain null": dump(baseline()).replace('"isSidechain":false', '"isSidechain":null'),
}

REJECTED = {
    "usage with a space": dump(baseline()).replace('"usage":{', '"usage": {'),
    "pretty JSON": json.dumps(baseline(), indent=2).replace("\n", " "),
    "id null nested in content": dump(baseline()).replace(
        '"content":[{"type":"text"', '"content":[{"id":null,"type":"text"'
    ),
    "cwd null": dump(baseline()).replace('"cwd":"/home/dev/p"', '"cwd":null'),
    "id null with space before colon": dump(baseline()).replace(
        '"cwd":"/home/dev/p"', '"cwd":"/x","id" :null'
    ),
    "speed turbo": dump(baseline(u=usage(speed="turbo"))),
    "input_tokens 1.0": dump(baseline()).replace('"input_tokens":100', '"input_tokens":1.0'),
    "input_tokens -1": dump(baseline()).replace('"input_tokens":100', '"input_tokens":-1'),
    "input_tokens above u64": dump(baseline()).replace(
        '"input_tokens":100', '"input_tokens":18446744073709551616'
    ),
    "output_tokens missing": dump(baseline()).replace('"output_tokens":50,', ""),
    "microsecond timestamp": dump(baseline(ts="2026-11-01T10:00:00.123456Z")),
    "2-digit fraction": dump(baseline(ts="2026-11-01T10:00:00.12Z")),
    "timestamp without zone": dump(baseline(ts="2026-11-01T10:00:00.000")),
    "numeric timestamp": dump(baseline()).replace(
        '"timestamp":"2026-11-01T10:00:00.000Z"', '"timestamp":1790000000'
    ),
    "day 31 in November": dump(baseline(ts="2026-11-31T10:00:00.000Z")),
    "hour 24": dump(baseline(ts="2026-11-01T24:00:00.000Z")),
    "version 2.0": dump(baseline(version="2.0")),
    "model empty": dump(baseline(model="")),
    "sessionId empty": dump(baseline(session="")),
    "requestId empty": dump(baseline(req_id="")),
    "message id empty": dump(baseline(msg_id="")),
    "costUSD string": dump(baseline()).replace('"timestamp"', '"costUSD":"0.5","timestamp"'),
    "costUSD null": dump(baseline()).replace('"timestamp"', '"costUSD":null,"timestamp"'),
    "isSidechain string": dump(baseline()).replace('"isSidechain":false', '"isSidechain":"yes"'),
    "cache_read_input_tokens null": dump(baseline()).replace(
        '"cache_read_input_tokens":0', '"cache_read_input_tokens":null'
    ),
    "ephemeral null": dump(baseline(u=usage(cache_creation={"ephemeral_5m_input_tokens": None}))),
    "message missing": '{"timestamp":"2026-11-01T10:00:00.000Z","usage":{"input_tokens":1,"output_tokens":1}}',
    "truncated line": dump(baseline())[:-40],
    "top level array": '[{"usage":{"input_tokens":1}}]',
}


@pytest.mark.parametrize("line", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted(line: str) -> None:
    assert parse_one(line) is not None


@pytest.mark.parametrize("line", REJECTED.values(), ids=REJECTED.keys())
def test_rejected(line: str) -> None:
    assert parse_one(line) is None


def test_fields_of_an_entry() -> None:
    line = dump(
        baseline(
            ts="2026-11-01T19:00:00.250+09:00",
            sidechain=True,
            cost=0.25,
            u=usage(
                7,
                8,
                30,
                40,
                speed="fast",
                cache_creation={"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 20},
            ),
        )
    )
    entry = parse_line(line.encode(), CONTEXT, 123, ParseStats())
    assert entry is not None
    assert entry.timestamp_ms == 1_793_527_200_250  # 2026-11-01T10:00:00.250Z
    assert (entry.input_tokens, entry.output_tokens, entry.cache_read_tokens) == (7, 8, 40)
    assert (entry.cache_creation_tokens, entry.cache_creation_1h_tokens) == (30, 20)
    assert entry.fast and entry.has_speed and entry.sidechain
    assert entry.display_model == "claude-sonnet-4-20250514-fast"
    assert (entry.message_id, entry.request_id, entry.session_field) == ("msg_1", "req_1", "s1")
    assert entry.cost_usd == 0.25
    assert (entry.source, entry.offset, entry.project, entry.session) == (
        CONTEXT.source,
        123,
        "p",
        "s1",
    )


def test_breakdown_overrides_the_flat_cache_creation_count() -> None:
    line = dump(
        baseline(
            u=usage(
                cc=999,
                cache_creation={"ephemeral_5m_input_tokens": 1, "ephemeral_1h_input_tokens": 2},
            )
        )
    )
    entry = parse_line(line.encode(), CONTEXT, 0, ParseStats())
    assert entry is not None and entry.cache_creation_tokens == 3


def test_usage_limit_reset_time_from_api_error_lines() -> None:
    error = baseline(model="<synthetic>", u=usage(0, 0), isApiErrorMessage=True)
    error["message"]["content"] = [
        {"type": "text", "text": "Claude AI usage limit reached|1756738800"}
    ]  # type: ignore[index]
    entry = parse_line(dump(error).encode(), CONTEXT, 0, ParseStats())
    assert entry is not None and entry.usage_limit_reset_ms == 1_756_738_800_000
    assert entry.display_model is None
    not_error = dict(error, isApiErrorMessage=False)
    entry = parse_line(dump(not_error).encode(), CONTEXT, 0, ParseStats())
    assert entry is not None and entry.usage_limit_reset_ms is None


@pytest.mark.parametrize(
    ("digits", "ms"),
    [
        # what ccusage 20.0.24 prints for each (checked): seconds as a signed 64-bit
        # number, dropped when they are not > 0 or their milliseconds overflow it
        ("0000000000000000000000001", 1_000),
        ("9223372036854775", 9_223_372_036_854_775_000),
        ("9223372036854776", None),
        ("9223372036854775808", None),
        ("0", None),
        ("9" * 5000, None),  # int() of this many digits raises in Python
    ],
)
def test_usage_limit_reset_times_ccusage_cannot_hold_are_dropped(
    digits: str, ms: int | None
) -> None:
    error = baseline(model="<synthetic>", u=usage(0, 0), isApiErrorMessage=True)
    error["message"]["content"] = [
        {"type": "text", "text": f"Claude AI usage limit reached|{digits}"}
    ]  # type: ignore[index]
    entry = parse_line(dump(error).encode(), CONTEXT, 0, ParseStats())
    assert entry is not None and entry.usage_limit_reset_ms == ms


def test_buffer_counts_what_it_skips() -> None:
    lines = [
        dump(baseline(msg_id="a")),
        "",
        '{"type":"user","message":{"content":"no usage here"}}',
        dump(baseline(msg_id="b")).replace('"input_tokens":100', '"input_tokens":-1'),
        dump(baseline(msg_id="c", version="bad")),
        dump(baseline(msg_id="d")),
    ]
    buf = "\n".join(lines).encode()  # no newline after the last line: it still counts
    stats = ParseStats()
    entries = parse_buffer(buf, CONTEXT, stats, base_offset=1000)
    assert [e.message_id for e in entries] == ["a", "d"]
    assert stats.lines == 6 and stats.entries == 2 and stats.skipped == 4
    assert (stats.malformed, stats.invalid) == (1, 1)
    assert stats.by_reason == {"malformed": 1, "version": 1}
    assert entries[0].offset == 1000
    assert entries[1].offset == 1000 + buf.rindex(b"\n") + 1


@pytest.mark.parametrize(
    ("fragment", "forbidden"),
    [
        ('"id":null', True),
        ('"model" :null', True),
        ('"parentUuid":null', False),
        ('"text":"a \\"id\\":null b"', False),  # inside a string: the run is `id\`
        ('"text":"x:null"', False),
        ('"id":"x","y":null', False),
    ],
)
def test_forbidden_null_detection(fragment: str, forbidden: bool) -> None:
    assert has_forbidden_null(("{" + fragment + "}").encode()) is forbidden


@given(st.binary(max_size=600))
def test_no_byte_sequence_crashes_the_parser(data: bytes) -> None:
    stats = ParseStats()
    parse_buffer(data + b'"usage":{' + data, CONTEXT, stats)
    assert stats.entries + stats.malformed + stats.invalid <= stats.lines
