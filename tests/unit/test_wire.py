"""The wire format: what a push may carry, decoded strictly, each entry standing alone."""

from __future__ import annotations

import re

import msgspec
import pytest

from ccsync.wire import (
    LIMIT_SOURCES,
    WIRE_VERSION,
    PushAck,
    UsagePush,
    WireEntry,
    decode_limits,
    decode_push,
    encode,
)
from factories import entry

ENTRY = entry(
    77,
    ts=1_793_527_200_250,
    inp=1,
    out=2,
    cc=10,
    cc_1h=20,
    cr=4,
    model="claude-opus-4-6",
    fast=True,
    mid="m",
    rid="r",
    cost=0.5,
    sidechain=True,
    reset_ms=1_793_527_200_250 + 3_600_000,
)
"""An entry with every optional field set (its source ``/home/u/.claude/projects/p/s.jsonl``)."""
NOW = 1_793_527_200_250 + 60_000
"""The server's clock in these tests (2026-11-01T10:01:00.250Z)."""


def test_an_entry_survives_the_wire() -> None:
    wire = WireEntry.from_entry(ENTRY)
    decoded = decode_push(encode(UsagePush(entries=[wire])))[0]
    assert decoded.entries is not None
    server_side = decoded.entries[0].to_entry("laptop", NOW)
    assert server_side == msgspec.structs.replace(ENTRY, source=f"laptop:{ENTRY.source}")


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"entries": [], "tokens": 1}',
        b'{"tokens": -1}',
        b'{"tokens": 1, "extra": true}',
        b'{"tokens": 1, "version": 2}',
        b'{"entries": [{"bogus": 1}], "version": 99}',
        b'{"blocks": [{"id": "x"}]}',
        b"[]",
    ],
)
def test_bad_envelopes_are_validation_errors(body: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        decode_push(body)


def test_malformed_json_is_a_decode_error() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_push(b'{"tokens": ')


def test_each_entry_stands_alone() -> None:
    good = msgspec.to_builtins(WireEntry.from_entry(ENTRY))
    body = msgspec.json.encode(
        {"entries": [good, {**good, "offset": -5}, {**good, "timestamp": 10**16}, "x"]}
    )
    push, rejected, errors = decode_push(body)
    assert push.entries is not None and len(push.entries) == 1
    assert rejected == 3 and [e.split(":")[0] for e in errors] == [
        "entries[1]",
        "entries[2]",
        "entries[3]",
    ]


def test_the_cache_split_must_add_up() -> None:
    wire = msgspec.structs.replace(WireEntry.from_entry(ENTRY), cache_creation_1h_tokens=31)
    with pytest.raises(ValueError, match="cacheCreation1hTokens"):
        wire.to_entry("d", NOW)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        (
            "timestamp",
            253_402_300_799_999,
            "timestamp 9999-12-31T23:59:59.999Z is more than a day ahead of the server's clock",
        ),
        ("timestamp", NOW + 86_400_001, "is more than a day ahead"),
        ("timestamp", 1_672_531_199_999, "timestamp 2022-12-31T23:59:59.999Z is before 2023"),
        ("usage_limit_reset", NOW + 8 * 86_400_000 + 1, "usageLimitReset 2026-11-09T"),
        ("usage_limit_reset", 9_000, "usageLimitReset 1970-01-01T00:00:09.000Z is before 2023"),
    ],
)
def test_times_out_of_bounds_are_refused(field: str, value: int, reason: str) -> None:
    wire = msgspec.structs.replace(WireEntry.from_entry(ENTRY), **{field: value})
    with pytest.raises(ValueError, match=re.escape(reason)):
        wire.to_entry("d", NOW)


def test_times_at_the_bounds_are_taken() -> None:
    base = WireEntry.from_entry(ENTRY)
    for field, value in (
        ("timestamp", NOW + 86_400_000),
        ("timestamp", 1_672_531_200_000),
        ("usage_limit_reset", NOW + 8 * 86_400_000),
    ):
        msgspec.structs.replace(base, **{field: value}).to_entry("d", NOW)


@pytest.mark.parametrize(
    "body",
    [
        b'{"entries":[{"source":"/p/\xff\xfe","offset":8,"timestamp":1764000000000,'
        b'"project":"p","session":"s","projectPath":"/p"}]}',
        b'{"entries":[{"source":"/p/\xed\xa0\x80","offset":-8}]}',  # a surrogate, UTF-8 encoded
        b'{"tokens":1,"account":"\xff"}',
        b'{"tok\xffens":1}',
        b'{"tokens":1,"account":"\\ud800"}',  # an escaped lone surrogate
        '{"tokens":1,"account":"\ud800"}',  # a lone surrogate in text
    ],
)
def test_text_that_is_not_unicode_is_a_decode_error(body: bytes | str) -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_push(body)
    with pytest.raises(msgspec.DecodeError):
        decode_limits(body)


def test_version() -> None:
    assert WIRE_VERSION == 1


def test_a_push_may_number_its_lines_in_a_stream() -> None:
    body = b'{"entries": [], "stream": "a1_b-2", "seq": 9, "acked": 4}'
    push = decode_push(body)[0]
    assert (push.stream, push.seq, push.acked) == ("a1_b-2", 9, 4)
    lenient = decode_push(b'{"entries": [{"bogus": 1}], "stream": "s", "seq": 9}')
    assert (lenient[0].stream, lenient[0].seq, lenient[1]) == ("s", 9, 1)
    for bad in (
        b'{"entries": [], "seq": 9}',  # a number of no stream
        b'{"entries": [], "stream": "s"}',  # a stream without its number
        b'{"tokens": 1, "stream": "s", "seq": 1}',  # only lines are numbered
        b'{"entries": [], "stream": "no spaces", "seq": 1}',
        b'{"entries": [], "stream": "s", "seq": -1}',
    ):
        with pytest.raises(msgspec.ValidationError):
            decode_push(bad)


def test_an_acknowledgement_names_the_history() -> None:
    ack = msgspec.json.decode(
        encode(PushAck(success=True, device_id="d", account="a", history_id="h", mark=3))
    )
    assert (ack["historyId"], ack["mark"]) == ("h", 3)


@pytest.mark.parametrize("source", LIMIT_SOURCES)
def test_every_documented_limit_source_is_taken(source: str) -> None:
    body = {
        "five_hour": {"used_percentage": 53, "resets_at": 1_783_471_799.94, "observed_at": 1e9},
        "windows": {"seven_day_fable": {"used_percentage": 6, "resets_at": 1_783_922_400}},
        "source": source,
    }
    limits = decode_limits(encode(body))
    assert limits.source == source
    assert [name for name, _ in limits.readings()] == ["five_hour", "seven_day_fable"]
