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

from ccsync.agent.statusline import CACHE_FILE, LIMITS_FILE, main, render
from fixtures.payloads import now_entry
from fixtures.server import RunningServer

GOLDEN = Path(__file__).parent / "golden"
NOW = 1_795_000_000.0  # 2026-11-18T11:06:40Z
RESET = "2026-11-18T13:20:00.000Z"  # NOW + 2h13m20s


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
}


@pytest.mark.parametrize("case", CASES)
def test_golden_lines(case: str) -> None:
    cache, hook = CASES[case]
    line = render(cache, hook, NOW)
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
    assert out.getvalue() == "ccsync: no data yet\n"
    saved = json.loads((tmp_path / LIMITS_FILE).read_text())
    assert saved["rate_limits"] == hook["rate_limits"]


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
    assert (
        first == "ccsync: no data yet\n"
    )  # nothing cached yet; the refresher runs in the background
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
    assert (
        official["fiveHour"]["usedPercentage"] == 33 and official["fiveHour"]["source"] == "laptop"
    )


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
