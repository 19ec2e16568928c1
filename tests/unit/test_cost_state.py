"""Claude Code's own cost (``cost-state`` lines): read beside the token rules, offered for
models without a price, never mixed into ccusage's numbers."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ccsync.usage import ReportKind, ReportOptions, build_report
from ccsync.usage.cost_state import SessionCost, merge_readings, parse_cost_states
from ccsync.usage.loader import read_cost_states, scan
from ccsync.usage.parse import FileContext, ParseStats, parse_buffer
from ccsync.usage.pricing import PriceTable, default_prices
from fixtures.lines import assistant, dump, usage

REAL = Path(__file__).parents[1] / "fixtures" / "claude-code-2.1.332"
PROJECT = REAL / "projects" / "-home-user-work"
HAIKU = PROJECT / "00089db4-4401-407d-ac64-3c8a71172d86.jsonl"
SONNET = PROJECT / "9217d85e-f8e8-4c06-bf95-b4cfb2672923.jsonl"


def cost_state(session: str, total: float, **models: float) -> str:
    return dump(
        {
            "type": "cost-state",
            "sessionId": session,
            "totalCostUSD": total,
            "modelUsage": {m: {"inputTokens": 1, "costUSD": c} for m, c in models.items()},
            "hasUnknownModelCost": False,
        }
    )


def test_the_real_transcripts_cost_states() -> None:
    assert parse_cost_states(HAIKU.read_bytes()) == {
        HAIKU.stem: SessionCost(HAIKU.stem, {"claude-haiku-5-5": 0.0007287000000000001})
    }
    assert read_cost_states([HAIKU, SONNET, PROJECT / "missing.jsonl"]) == {
        HAIKU.stem: {"claude-haiku-5-5": 0.0007287000000000001},
        SONNET.stem: {"claude-sonnet-5-5": 0.025148},
    }


def test_a_cost_state_line_is_not_an_entry() -> None:
    data = HAIKU.read_bytes()
    without = b"".join(line for line in data.splitlines(keepends=True) if b"cost-state" not in line)
    assert without != data
    context = FileContext(str(HAIKU), "p", HAIKU.stem, "p")
    assert parse_buffer(data, context, ParseStats()) == parse_buffer(without, context, ParseStats())


def test_the_newest_reading_of_a_session_wins_and_bad_lines_are_skipped() -> None:
    lines = [
        cost_state("s1", 0.1, **{"claude-a": 0.1}),
        '{"type":"cost-state","sessionId":"s1","modelUsage":{"claude-a":{"costUSD":"x"}}}',
        '{"type":"cost-state","modelUsage":{"claude-a":{"costUSD":1}}}',  # no session
        '{"type":"cost-state","sessionId":"s1","modelUsage":{"claude-a":{"costUSD":-1}}}',
        'not json but mentions "type":"cost-state"',
        cost_state("s2", 0.5, **{"claude-b": 0.5}),
        cost_state("s1", 0.3, **{"claude-a": 0.2, "claude-b": 0.1}),
    ]
    readings = parse_cost_states("\n".join(lines).encode())
    assert readings == {
        "s1": SessionCost("s1", {"claude-a": 0.2, "claude-b": 0.1}),
        "s2": SessionCost("s2", {"claude-b": 0.5}),
    }
    assert merge_readings([readings, {"s2": SessionCost("s2", {})}]) == {
        "s1": {"claude-a": 0.2, "claude-b": 0.1},
        "s2": {},
    }
    assert parse_cost_states(b"") == {}


def test_reports_offer_claude_codes_cost_beside_ccusages_numbers(tmp_path: Path) -> None:
    # A table without Claude Code 2.1.332's models: the ccusage-measured part only.
    ccusage_only = PriceTable(
        {name: default_prices().models[name] for name in default_prices().ccusage}
    )
    found = scan([REAL])
    recorded = read_cost_states([HAIKU, SONNET])
    plain = ReportOptions(prices=ccusage_only, timezone="UTC")
    options = replace(plain, recorded_costs=recorded)
    for kind in (ReportKind.DAILY, ReportKind.MONTHLY, ReportKind.SESSION):
        without = build_report(kind, found.entries, plain, 0)
        with_costs = build_report(kind, found.entries, options, 0)
        totals = with_costs["totals"]
        assert totals["claudeCodeCostUSD"] == {
            "claude-haiku-5-5": pytest.approx(0.0007287),
            "claude-sonnet-5-5": pytest.approx(0.025148),
        }
        # ccusage's numbers do not change: the recorded cost is beside them, not in them.
        del totals["claudeCodeCostUSD"]
        for row in with_costs.get("sessions", []):
            for item in row["modelBreakdowns"]:
                item.pop("claudeCodeCostUSD")
        assert with_costs == without
        assert without["totals"]["totalCost"] == 0.0
        assert without["totals"]["unpricedModels"] == ["claude-haiku-5-5", "claude-sonnet-5-5"]


def test_only_sessions_in_the_report_count(tmp_path: Path) -> None:
    lines = [
        dump(
            assistant("2026-11-01T10:00:00.000Z", session="a", model="claude-x-9", u=usage(10, 5))
        ),
        cost_state("a", 1.0, **{"claude-x-9": 1.0}),
    ]
    other = [
        dump(
            assistant(
                "2026-11-03T10:00:00.000Z",
                session="b",
                msg_id="m2",
                req_id="r2",
                model="claude-x-9",
                u=usage(10, 5),
            )
        ),
        cost_state("b", 2.0, **{"claude-x-9": 2.0}),
    ]
    for name, content in (("a", lines), ("b", other)):
        path = tmp_path / "projects" / "p" / f"{name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(content) + "\n")
    found = scan([tmp_path])
    recorded = read_cost_states([e.source for e in found.entries])
    options = ReportOptions(timezone="UTC", recorded_costs=recorded)
    everything = build_report(ReportKind.DAILY, found.entries, options, 0)
    assert everything["totals"]["claudeCodeCostUSD"] == {"claude-x-9": 3.0}
    first_day = replace(options, until=__import__("datetime").date(2026, 11, 2))
    assert build_report(ReportKind.DAILY, found.entries, first_day, 0)["totals"][
        "claudeCodeCostUSD"
    ] == {"claude-x-9": 1.0}
    sessions = build_report(ReportKind.SESSION, found.entries, options, 0)["sessions"]
    assert {
        row["sessionId"]: row["modelBreakdowns"][0]["claudeCodeCostUSD"] for row in sessions
    } == {
        "a": 1.0,
        "b": 2.0,
    }
    assert json.dumps(everything)  # plain JSON
