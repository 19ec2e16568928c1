"""The status line: golden renderings, and the real command against a real server."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ccsync.agent.statusline import (
    CACHE_FILE,
    LIMITS_FILE,
    js_round,
    main,
    official_percent,
    render,
)
from fixtures.payloads import now_entry
from fixtures.server import RunningServer

GOLDEN = Path(__file__).parent / "golden"
NOW = 1_795_000_000.0  # 2026-11-18T11:06:40Z
RESET = "2026-11-18T13:20:00.000Z"  # NOW + 2h13m20s
REAL = Path(__file__).parents[1] / "fixtures" / "claude-code-2.1.332"
CAPTURED = json.loads((REAL / "statusline-input.json").read_text())
"""What Claude Code 2.1.332 gave its status line command after the first answer (5h 23.5 %,
resetting at 1795945692; 7d 41.2 %)."""
CAPTURED_AT = 1_795_938_493.0
"""When it was captured (2026-11-29T07:48:13Z: its prompt cache's expiry, 5 minutes on)."""


def window(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "account": "default",
        "active": True,
        "start": "2026-11-18T08:00:00.000Z",
        "end": RESET,
        "tokens": 1_234_567,
        "costUSD": 4.2,
        "limit": {
            "tokens": 2_600_000,
            "source": "max-past-block",
            "percentUsed": 47.48,
            "projectedPercent": 80.0,
        },
        "official": {},
        "devices": [
            {
                "deviceId": "laptop",
                "tokens": 1_000_000,
                "costUSD": 3.0,
                "share": 0.81,
                "source": "entries",
            },
            {
                "deviceId": "desktop",
                "tokens": 234_567,
                "costUSD": 1.2,
                "share": 0.19,
                "source": "entries",
            },
            {"deviceId": "idle", "tokens": 0, "costUSD": 0.0, "share": 0.0, "source": "entries"},
        ],
        "today": {
            "since": "2026-11-18T00:00:00.000Z",
            "timezone": "UTC",
            "tokens": 2_000_000,
            "costUSD": 3.4,
        },
    }
    base.update(changes)
    return base


CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "server-up": ({"window": window(), "fetched": NOW - 3}, {}),
    "official-from-this-session": (
        {"window": window(), "fetched": NOW - 3},
        {
            "rate_limits": {
                "five_hour": {"used_percentage": 52.4, "resets_at": NOW + 2 * 3600 + 13 * 60}
            }
        },
    ),
    "official-from-another-device": (
        {
            "window": window(
                official={
                    "fiveHour": {
                        "usedPercentage": 61.0,
                        "resetsAt": "2026-11-18T12:36:40.000Z",
                        "source": "desktop",
                        "ageSeconds": 40,
                    }
                }
            ),
            "fetched": NOW - 3,
        },
        {},
    ),
    "no-limit-known": ({"window": window(limit=None), "fetched": NOW - 3}, {}),
    "no-active-window": (
        {"window": window(active=False, tokens=0, devices=[], limit=None), "fetched": NOW - 3},
        {},
    ),
    "server-down-stale-cache": (
        {"window": window(), "fetched": NOW - 300, "error": "server unreachable"},
        {},
    ),
    "server-down-no-cache": ({"error": "server unreachable"}, {}),
    "today-partly-unpriced": (
        {
            "window": window(
                today={
                    "since": "2026-11-18T00:00:00.000Z",
                    "timezone": "UTC",
                    "tokens": 2_000_000,
                    "costUSD": 3.4,
                    "unpricedModels": ["claude-haiku-9"],
                }
            ),
            "fetched": NOW - 3,
        },
        {},
    ),
    "never-fetched": ({}, {}),
    # Claude Code's own reading, before ccsync has data from the server.
    "captured-input-no-server-yet": ({}, CAPTURED),
    "captured-input-server-down": ({"error": "server unreachable"}, CAPTURED),
    "captured-input-with-a-cache": (
        {"window": window(end="2026-11-29T10:00:00.000Z"), "fetched": CAPTURED_AT - 3},
        CAPTURED,
    ),
    "captured-input-server-answered-an-error": ({"error": "server answered 401"}, CAPTURED),
}
NOW_OF = {name: CAPTURED_AT for name in CASES if name.startswith("captured-input")}


@pytest.mark.parametrize("case", CASES)
def test_golden_lines(case: str) -> None:
    cache, hook = CASES[case]
    line = render(cache, hook, NOW_OF.get(case, NOW))
    golden = GOLDEN / f"statusline-{case}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(line + "\n")
    assert line + "\n" == golden.read_text()


def test_main_keeps_new_official_limits_for_the_refresher(tmp_path: Path) -> None:
    env = {
        "CCSYNC_STATE_DIR": str(tmp_path),
        "CCSYNC_SERVER": "http://127.0.0.1:9",
        "HOME": str(tmp_path),
    }
    hook = {
        "session_id": "s",
        "rate_limits": {"five_hour": {"used_percentage": 10, "resets_at": NOW + 60}},
    }
    out = io.StringIO()
    assert main(io.StringIO(json.dumps(hook)), out, env, NOW) == 0
    assert out.getvalue() == "5h 10% · resets 1m (no server data yet)\n"
    saved = json.loads((tmp_path / LIMITS_FILE).read_text())
    assert saved["rate_limits"] == hook["rate_limits"]


def test_the_captured_input_with_no_server_prints_claude_codes_own_reading(
    tmp_path: Path,
) -> None:
    """Done when: fed Claude Code 2.1.332's real status-line input with no server, the line
    starts ``5h 24%`` (its 23.5 rounded as Claude Code rounds) and says when it resets."""
    env = {
        "CCSYNC_STATE_DIR": str(tmp_path),
        "CCSYNC_SERVER": "http://127.0.0.1:9",
        "HOME": str(tmp_path),
    }
    stdin = (REAL / "statusline-input.json").read_text()
    out = io.StringIO()
    assert main(io.StringIO(stdin), out, env, CAPTURED_AT) == 0
    assert out.getvalue() == "5h 24% · resets 1h59m · 7d 41% (no server data yet)\n"
    # The cache says the server is down: the reason, in brackets.
    (tmp_path / CACHE_FILE).write_text(json.dumps({"error": "server unreachable"}))
    out = io.StringIO()
    assert main(io.StringIO(stdin), out, env, CAPTURED_AT + 60) == 0
    assert out.getvalue() == "5h 24% · resets 1h58m · 7d 41% (server unreachable)\n"


def test_a_session_before_and_after_its_first_answer() -> None:
    """Every status-line input of one real session: the first ones (before any answer) carry
    no ``rate_limits``, the later ones do."""
    inputs = (REAL / "statusline-inputs-session.jsonl").read_text().splitlines()
    lines = [
        render({"error": "server unreachable"}, json.loads(raw), CAPTURED_AT) for raw in inputs
    ]
    assert lines[0] == "ccsync: no data yet (server unreachable)"
    assert set(lines[1:]) == {"5h 24% · resets 1h59m · 7d 41% (server unreachable)"}


def test_a_window_that_has_reset_is_not_shown() -> None:
    after_five_hours = CAPTURED["rate_limits"]["five_hour"]["resets_at"] + 1
    assert render({}, CAPTURED, after_five_hours) == "7d 41% (no server data yet)"
    after_the_week = CAPTURED["rate_limits"]["seven_day"]["resets_at"] + 1
    assert render({}, CAPTURED, after_the_week) == "ccsync: no data yet"
    # With a window: neither this session's reset reading nor a device's is taken.
    passed = {"five_hour": {"used_percentage": 90, "resets_at": NOW - 1}}
    official = {
        "fiveHour": {"usedPercentage": 95.0, "resetsAt": "2026-11-18T11:00:00.000Z"},
    }
    line = render(
        {"window": window(official=official), "fetched": NOW}, {"rate_limits": passed}, NOW
    )
    assert line.startswith("5h ~47% · ") and "resets 2h13m" in line


@pytest.mark.parametrize(
    ("used", "shown"),
    [
        (23.5, 24),
        (22.5, 23),  # half up, as JavaScript's Math.round (Python's round gives 22)
        (0.5, 1),
        (0.4, 0),
        (41.2, 41),
        (99.5, 100),
        (100.0, 100),
        (104.0, 100),  # Claude Code caps at 100
        (0, 0),
    ],
)
def test_percentages_round_as_claude_code_rounds_them(used: float, shown: int) -> None:
    assert official_percent(used) == shown
    hook = {"rate_limits": {"five_hour": {"used_percentage": used, "resets_at": NOW + 60}}}
    assert render({}, hook, NOW).startswith(f"5h {shown}% · resets 1m")
    assert render({"window": window(), "fetched": NOW}, hook, NOW).startswith(f"5h {shown}% · ")


def test_the_estimate_rounds_half_up_too() -> None:
    assert js_round(22.5) == 23 and js_round(47.48) == 47 and js_round(-0.5) == 0
    limit = {"tokens": 100, "source": "setting", "percentUsed": 22.5}
    assert render({"window": window(limit=limit), "fetched": NOW}, {}, NOW).startswith("5h ~23% ")


def test_garbage_input_still_prints_a_line(tmp_path: Path) -> None:
    env = {"CCSYNC_STATE_DIR": str(tmp_path), "HOME": str(tmp_path)}
    for stdin in ("", "not json", "[1,2]", '{"rate_limits": "x"}'):
        out = io.StringIO()
        assert main(io.StringIO(stdin), out, env, NOW) == 0
        assert out.getvalue().startswith("ccsync: no data yet")


def statusline(env: dict[str, str], hook: dict[str, Any]) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ccsync", "statusline"],
        input=json.dumps(hook),
        capture_output=True,
        text=True,
        env=env,
        timeout=10,
    )
    assert done.returncode == 0 and done.stderr == ""
    return done.stdout, time.perf_counter() - started


async def test_the_command_against_a_real_server(server: RunningServer, tmp_path: Path) -> None:
    now_ms = int(time.time() * 1000)
    async with server.client() as http:
        await http.post(
            "/api/usage/laptop", json={"entries": [now_entry(now_ms, 1, minutes_ago=5)]}
        )
    env = {
        **os.environ,
        "CCSYNC_STATE_DIR": str(tmp_path),
        "CCSYNC_SERVER": server.url,
        "HOME": str(tmp_path),
        "CCSYNC_DEVICE": "laptop",
    }
    hook = {
        "session_id": "s",
        "model": {"display_name": "Opus"},
        "rate_limits": {"five_hour": {"used_percentage": 33, "resets_at": time.time() + 3600}},
    }
    first, _ = statusline(env, hook)
    # nothing cached yet (the refresher runs in the background): Claude Code's own reading
    assert first.startswith("5h 33% · resets ") and first.endswith(" (no server data yet)\n")
    deadline = time.monotonic() + 10
    while not (tmp_path / CACHE_FILE).exists() or "window" not in json.loads(
        (tmp_path / CACHE_FILE).read_text()
    ):
        assert time.monotonic() < deadline, "the refresher never wrote the cache"
        await __import__("asyncio").sleep(0.05)
    second, _ = statusline(env, hook)
    assert second.startswith("5h 33% · 1.5k tok · $") and "1 device" in second
    assert "+ today" not in second  # every model priced: the cost is whole
    async with server.client() as http:
        official = (await http.get("/api/window")).json()["official"]
    assert official["fiveHour"]["usedPercentage"] == 33
    assert official["fiveHour"]["source"] == "statusline"
    assert official["fiveHour"]["deviceId"] == "laptop"


async def test_a_cost_without_every_price_is_marked(server: RunningServer, tmp_path: Path) -> None:
    now_ms = int(time.time() * 1000)
    async with server.client() as http:
        entries = [
            now_entry(now_ms, 1, minutes_ago=5),
            now_entry(now_ms, 2, minutes_ago=4, model="claude-unreleased-9"),
        ]
        await http.post("/api/usage/laptop", json={"entries": entries})
        today = (await http.get("/api/window")).json()["today"]
    assert today["unpricedModels"] == ["claude-unreleased-9"]
    env = {
        **os.environ,
        "CCSYNC_STATE_DIR": str(tmp_path),
        "CCSYNC_SERVER": server.url,
        "HOME": str(tmp_path),
    }
    statusline(env, {})
    deadline = time.monotonic() + 10
    while not (tmp_path / CACHE_FILE).exists() or "window" not in json.loads(
        (tmp_path / CACHE_FILE).read_text()
    ):
        assert time.monotonic() < deadline, "the refresher never wrote the cache"
        await __import__("asyncio").sleep(0.05)
    line, _ = statusline(env, {})
    assert f"${today['costUSD']:,.2f}+ today" in line


def test_the_command_when_the_server_is_down(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CCSYNC_STATE_DIR": str(tmp_path),
        "CCSYNC_SERVER": "http://127.0.0.1:9",
        "HOME": str(tmp_path),
    }
    (tmp_path / CACHE_FILE).write_text(
        json.dumps({"window": window(), "fetched": time.time() - 600})
    )
    line, elapsed = statusline(env, {"session_id": "s"})
    assert line.startswith("5h ~47% · 1.2M tok · $3.40 today") and "(as of 10m ago)" in line
    assert elapsed < 5  # generous; bench/RESULTS.md has the real figures


def test_the_command_fed_the_captured_input_with_no_server(tmp_path: Path) -> None:
    """The real command, fed Claude Code's captured input (its times moved to now, so that
    its windows have not reset yet) with no server to ask."""
    shift = time.time() - CAPTURED_AT
    hook = json.loads(json.dumps(CAPTURED))
    for limit in hook["rate_limits"].values():
        limit["resets_at"] += shift
    env = {
        **os.environ,
        "CCSYNC_STATE_DIR": str(tmp_path),
        "CCSYNC_SERVER": "http://127.0.0.1:9",
        "HOME": str(tmp_path),
    }
    line, elapsed = statusline(env, hook)
    assert line.startswith("5h 24% · resets 1h59m · 7d 41% (")
    assert line.endswith(")\n") and elapsed < 5
