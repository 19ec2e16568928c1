"""Every transcript the real Claude Code 2.1.332 wrote in the captures, as golden tests.

The data set is two Claude data directories read together (``tests/golden/claude-2.1.332/``
README): the two transcripts ``tests/fixtures/claude-code-2.1.332/`` already held, and the
25 others of the same capture of the real CLI, all copied unchanged. They
hold every line type of today's CLI; the expected reports are ccusage 20.0.24's own
output on them (the command that made them is in the README).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from ccsync.agent.state import AgentState
from ccsync.agent.tail import Tailer
from ccsync.usage import ReportKind, ReportOptions, build_report
from ccsync.usage.cost_state import parse_cost_states
from ccsync.usage.limit_hits import LimitHit, scan_limit_hits
from ccsync.usage.loader import scan
from ccsync.usage.parse import FileContext, ParseStats, parse_buffer
from ccsync.usage.pricing import PriceTable, default_prices
from parity.compare import same

HERE = Path(__file__).parent / "claude-2.1.332"
EARLIER = Path(__file__).parents[1] / "fixtures" / "claude-code-2.1.332"
DATA_DIRS = [EARLIER, HERE]
TRANSCRIPTS = sorted(
    (path for root in DATA_DIRS for path in (root / "projects").rglob("*.jsonl")),
    key=lambda path: path.name,
)
SIX_DAYS_AHEAD = 1_795_938_000_000  # 2026-11-29T07:40Z, before every line of the captures

LINE_TYPES = {
    "assistant": 25,
    "user": 28,
    "attachment": 248,
    "api-request": 34,
    "api-request-shape": 24,
    "api-request-blob": 48,
    "atis-latch": 54,
    "cost-state": 25,
    "last-prompt": 35,
    "queue-operation": 52,
    "system": 13,
    "mode": 2,
    "permission-mode": 2,
    "file-history-snapshot": 1,
}
"""Every line type in the captures, with how many lines of it there are. A line type
Claude Code adds shows up here first: look at what it carries, then add it."""

LIMIT_HITS = {
    "78ffeb75-fa83-4667-8e13-6af7cbf818d7": LimitHit(
        "five_hour", 1795942055, 1_795_938_455_655, "rejected"
    ),  # 2026-11-29T07:47:35.655Z: "You've hit your 5-hour limit · resets 8:47am (UTC)"
    "190320a5-c80a-4848-9680-18b8fc03b28a": LimitHit(
        "five_hour", 1795942259, 1_795_938_659_176, "rejected"
    ),  # 2026-11-29T07:50:59.176Z: "… resets 8:50am (UTC)"
}


def ccusage_prices() -> PriceTable:
    """The models ccusage 20.0.24 prices (the 5.5 models are unpriced there, as here)."""
    table = default_prices()
    return PriceTable({name: table.models[name] for name in table.ccusage})


def lines_of(path: Path) -> list[tuple[int, bytes]]:
    data = path.read_bytes()
    found, offset = [], 0
    for line in data.splitlines(keepends=True):
        found.append((offset, line.rstrip(b"\r\n")))
        offset += len(line)
    return found


def test_the_data_set_is_the_whole_capture() -> None:
    assert len(TRANSCRIPTS) == 27
    assert len({path.name for path in TRANSCRIPTS}) == 27  # nothing held twice


def test_every_line_type_and_how_many() -> None:
    types: Counter[str] = Counter()
    for path in TRANSCRIPTS:
        for _, line in lines_of(path):
            types[json.loads(line)["type"]] += 1
    assert dict(types) == LINE_TYPES


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda path: path.stem[:8])
def test_only_real_answers_are_entries_each_once(path: Path) -> None:
    """An entry is an assistant line of a real answer, once; nothing else is one: no
    ``cost-state``, ``api-request*``, ``attachment``, ``atis-latch``, ``system``… line,
    and no synthetic error line (``<synthetic>``, its ``speed`` null, as ccusage drops it)."""
    stats = ParseStats()
    context = FileContext(str(path), "-home-user-work", path.stem, "-home-user-work")
    entries = parse_buffer(path.read_bytes(), context, stats)
    answers = []
    for offset, line in lines_of(path):
        data = json.loads(line)
        if data["type"] == "assistant" and data.get("isApiErrorMessage") is not True:
            answers.append(offset)
            assert data["message"]["model"] != "<synthetic>"
    assert [entry.offset for entry in entries] == answers
    errors = sum(b'"isApiErrorMessage":true' in line for _, line in lines_of(path))
    # a synthetic error line carries usage, and is skipped for its null speed; no other
    # line of these files carries usage at all
    assert stats.by_reason == ({"null_field": errors} if errors else {})
    assert stats.lines == len(lines_of(path)) and stats.entries == len(answers)


def test_the_parsed_set_counts_as_ccusage_counts() -> None:
    found = scan(DATA_DIRS, workers=1)
    assert len(found.entries) == 12
    assert found.stats.by_reason == {"null_field": 13}
    options = ReportOptions(timezone="UTC", prices=ccusage_prices())
    for kind in (ReportKind.SESSION, ReportKind.MONTHLY):
        expected = json.loads((HERE / f"ccusage-{kind.value}.json").read_text())
        differences: list[str] = []
        same(expected, build_report(kind, found.entries, options, SIX_DAYS_AHEAD), "$", differences)
        assert differences == []


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda path: path.stem[:8])
def test_limit_hit_lines_are_read_by_their_own_pass(path: Path) -> None:
    """The 429 lines of the 5-hour limit give their window's reset; the other error lines
    (not logged in, a bad key, a 429 without quota information) give nothing."""
    expected = LIMIT_HITS.get(path.stem)
    assert scan_limit_hits(path.read_bytes()) == ([expected] if expected else [])


def test_cost_state_lines_are_read_by_theirs() -> None:
    sessions = {}
    for path in TRANSCRIPTS:
        sessions.update(parse_cost_states(path.read_bytes()))
    assert len(sessions) == LINE_TYPES["cost-state"]  # one per session (the last one wins)


def test_the_agent_queues_each_entry_and_each_reading_once(tmp_path: Path) -> None:
    state = AgentState(tmp_path / "agent.db")
    try:
        tailer = Tailer(state, DATA_DIRS)
        result = tailer.scan()
        assert (result.files, result.entries, result.readings) == (27, 12, 2)
        queued = [json.loads(row) for _, row in state.pending(1000)]
        assert len({(row["source"], row["offset"]) for row in queued}) == 12
        readings = state.pending_readings(100)
        found = [(window, json.loads(raw)) for _, window, raw in readings]
        assert sorted(found, key=lambda reading: reading[1]["observed_at"]) == [
            (
                "five_hour",
                {"used_percentage": 100.0, "resets_at": 1795942055, "observed_at": 1795938455.655},
            ),
            (
                "five_hour",
                {"used_percentage": 100.0, "resets_at": 1795942259, "observed_at": 1795938659.176},
            ),
        ]
        again = tailer.scan()  # nothing new: nothing queued twice
        assert (again.entries, again.readings) == (0, 0)
        assert state.outbox_size() == 12 and state.readings_waiting() == 2
    finally:
        state.close()
