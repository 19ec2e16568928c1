"""``GET /api/limits`` and ``limits_update`` over real sockets, on both backend pairs: official
readings from every source (built from the shapes Claude Code 2.1.332 writes, through the
code that reads them), expiry as the clock moves, newer readings replacing older ones,
devices disagreeing, and the 7-day estimate over several devices."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import msgspec
import pytest
from websockets.asyncio.client import connect

from ccsync.agent.readings import limits_to_send, reading_row
from ccsync.agent.refresh import _limits_body
from ccsync.clock import FixedClock
from ccsync.scheduler.claude import messages, rate_limits
from ccsync.settings import Settings
from ccsync.storage.history import open_history_store
from ccsync.usage.limit_hits import scan_limit_hits
from ccsync.usage.timestamps import iso_millis, parse_timestamp
from ccsync.usage.usage_response import parse_usage_response
from fixtures.payloads import now_entry
from fixtures.server import BACKENDS, RunningServer, run_server

CAPTURES = Path(__file__).parents[1] / "fixtures" / "claude-code-2.1.332"
STATUSLINE = json.loads((CAPTURES / "statusline-input.json").read_text())["rate_limits"]
LIMIT_HIT = (
    Path(__file__).parents[1]
    / "golden/claude-2.1.332/projects/-home-user-work/190320a5-c80a-4848-9680-18b8fc03b28a.jsonl"
)
WARMUP = CAPTURES / "output" / "warmup-stream-json.jsonl"
USAGE_RESPONSES = Path(__file__).parents[1] / "fixtures" / "usage_response"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# The captures were made on 2026-11-29 around 07:50 UTC: the server's clock starts there.
HIT = scan_limit_hits(LIMIT_HIT.read_bytes())[-1]
START_MS = HIT.observed_ms + 60_000
HIT_RESET_MS = int(HIT.resets_at * 1000)


@pytest.fixture(params=BACKENDS)
async def clocked(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[RunningServer, FixedClock]]:
    clock = FixedClock(START_MS)
    settings = Settings(data_dir=tmp_path / "data", local_agent=False, host="127.0.0.1")
    async with AsyncExitStack() as stack:
        history = None
        if request.param == "redis+postgresql":
            settings = settings.with_overrides(
                redis_url=request.getfixturevalue("redis_url"),
                redis_prefix=request.getfixturevalue("redis_prefix"),
            )
            history = await open_history_store(
                request.getfixturevalue("database_url"), schema=request.getfixturevalue("pg_schema")
            )
            stack.push_async_callback(history.aclose)
        server = await stack.enter_async_context(run_server(settings, history, clock))
        yield server, clock


def statusline_body(seen_at_ms: int) -> dict[str, Any]:
    body = _limits_body(STATUSLINE, seen_at_ms / 1000)
    assert body is not None
    body.pop("account", None)  # this machine's Claude login, if any, is not the test's
    return body


def transcript_body() -> dict[str, Any]:
    row = reading_row(HIT)
    assert row is not None
    [limits] = limits_to_send([(1, *row)], HIT.observed_ms)
    return msgspec.to_builtins(limits)  # type: ignore[no-any-return]


def warmup_body(observed_ms: int) -> dict[str, Any]:
    """A warm-up run's ``rate_limit_event`` (``--output-format stream-json --verbose``), read
    by the scheduler's parser."""
    limits = rate_limits(messages(WARMUP.read_text()))
    assert limits is not None
    body: dict[str, Any] = msgspec.to_builtins(limits)
    for window in ("five_hour", "seven_day"):
        body[window]["observed_at"] = observed_ms / 1000
    return {**body, "source": "warmup"}


def usage_cache_body(observed_ms: int) -> dict[str, Any]:
    """Claude Code's cached usage response (``~/.claude.json``), read by the agent's parser,
    its instants moved so that it was fetched at ``observed_ms``."""
    snapshot = parse_usage_response((USAGE_RESPONSES / "weekly-scoped.json").read_bytes())
    assert snapshot is not None
    first_reset = min(r.resets_at_ms for r in snapshot.readings if r.resets_at_ms is not None)
    shift = observed_ms + HOUR_MS - first_reset  # the 5-hour window resets an hour later
    windows = {
        reading.window: {
            "used_percentage": reading.used_percentage,
            "resets_at": (reading.resets_at_ms + shift) / 1000,
            "observed_at": observed_ms / 1000,
        }
        for reading in snapshot.readings
        if reading.resets_at_ms is not None
    }
    scoped = {name: limit for name, limit in windows.items() if name.startswith("seven_day_")}
    return {
        "five_hour": windows["five_hour"],
        "seven_day": windows["seven_day"],
        "windows": scoped,
        "source": "usage_cache",
    }


async def post(server: RunningServer, device: str, body: dict[str, Any]) -> None:
    async with server.client() as http:
        answer = await http.post(f"/api/limits/{device}", json=body)
        assert answer.status_code == 200, answer.text


async def limits(server: RunningServer) -> dict[str, dict[str, Any]]:
    async with server.client() as http:
        answer = await http.get("/api/limits")
        assert answer.status_code == 200, answer.text
        return {item["name"]: item for item in answer.json()["limits"]}


async def test_every_source_reaches_the_limits_and_every_reading_is_kept(
    clocked: tuple[RunningServer, FixedClock],
) -> None:
    server, clock = clocked
    await post(server, "laptop", transcript_body())  # 100 % at 07:50:59
    found = await limits(server)
    five = found["five_hour"]["official"]
    assert (five["usedPercentage"], five["source"], five["deviceId"]) == (
        100,
        "transcript",
        "laptop",
    )
    assert five["resetsAt"] == iso_millis(HIT_RESET_MS)
    assert found["seven_day"]["official"] is None
    assert found["five_hour"]["binding"] and not found["seven_day"]["binding"]

    clock.ms = HIT_RESET_MS + 60_000
    seen = clock.ms
    await post(server, "desktop", statusline_body(seen))
    found = await limits(server)
    five, seven = found["five_hour"]["official"], found["seven_day"]["official"]
    assert (five["usedPercentage"], five["source"]) == (23.5, "statusline")
    assert (seven["usedPercentage"], seven["deviceId"]) == (41.2, "desktop")
    assert found["seven_day"]["binding"]  # 41.2 % of the week binds over 23.5 % of 5 hours

    clock.advance(60_000)
    await post(server, "server-host", warmup_body(clock.ms))
    found = await limits(server)
    assert found["five_hour"]["official"]["source"] == "warmup"
    assert found["five_hour"]["official"]["deviceId"] == "server-host"
    assert found["seven_day"]["window"] == "seven_day"

    clock.advance(60_000)
    await post(server, "tablet", usage_cache_body(clock.ms))
    found = await limits(server)
    assert (
        found["five_hour"]["official"]["source"],
        found["five_hour"]["official"]["usedPercentage"],
    ) == ("usage_cache", 17)
    fable = found["seven_day_fable"]
    assert (fable["window"], fable["model"], fable["official"]["usedPercentage"]) == (
        "seven_day_model",
        "fable",
        81,  # the binding one of Fable's two entries (is_active)
    )
    assert fable["binding"]  # 81 % is the most used window
    assert found["seven_day_opus"]["official"]["usedPercentage"] == 63

    kept = await server.services.history.limits.readings("default", 0)
    assert sorted({(r.source, r.window) for r in kept}) == [
        ("statusline", "five_hour"),
        ("statusline", "seven_day"),
        ("transcript", "five_hour"),
        ("usage_cache", "five_hour"),
        ("usage_cache", "seven_day"),
        ("usage_cache", "seven_day_fable"),
        ("usage_cache", "seven_day_opus"),
        ("usage_cache", "seven_day_sonnet"),
        ("warmup", "five_hour"),
        ("warmup", "seven_day"),
    ]


async def test_a_reading_past_its_reset_is_never_shown(
    clocked: tuple[RunningServer, FixedClock],
) -> None:
    server, clock = clocked
    await post(server, "desktop", statusline_body(clock.ms))
    five_reset = STATUSLINE["five_hour"]["resets_at"] * 1000
    seven_reset = STATUSLINE["seven_day"]["resets_at"] * 1000
    found = await limits(server)
    assert found["five_hour"]["official"]["usedPercentage"] == 23.5
    assert found["five_hour"]["resetsAt"] == iso_millis(five_reset)

    clock.ms = five_reset - 1
    assert (await limits(server))["five_hour"]["official"] is not None
    clock.ms = five_reset
    found = await limits(server)
    assert found["five_hour"]["official"] is None  # its window reset: never shown again
    assert found["seven_day"]["official"]["usedPercentage"] == 41.2
    async with server.client() as http:
        window = (await http.get("/api/window")).json()
    assert "fiveHour" not in window["official"] and "sevenDay" in window["official"]

    clock.ms = seven_reset + 1
    found = await limits(server)
    assert found["seven_day"]["official"] is None
    assert all(item["official"] is None for item in found.values())


async def test_newer_readings_replace_older_and_disagreeing_devices_are_both_kept(
    clocked: tuple[RunningServer, FixedClock],
) -> None:
    server, clock = clocked
    reset = clock.ms // 1000 + 4 * 3600

    def body(percent: float, observed_ms: int) -> dict[str, Any]:
        return {
            "five_hour": {
                "used_percentage": percent,
                "resets_at": reset,
                "observed_at": observed_ms / 1000,
            },
            "source": "statusline",
        }

    await post(server, "laptop", body(30, clock.ms - 120_000))
    await post(server, "desktop", body(45, clock.ms - 60_000))  # newer: wins
    await post(
        server, "laptop", body(35, clock.ms - 90_000)
    )  # older than desktop's: kept, not shown
    five = (await limits(server))["five_hour"]["official"]
    assert (five["usedPercentage"], five["deviceId"]) == (45, "desktop")
    kept = await server.services.history.limits.readings("default", 0)
    assert sorted((r.device_id, r.used_percentage) for r in kept) == [
        ("desktop", 45),
        ("laptop", 30),
        ("laptop", 35),
    ]
    await post(server, "laptop", body(50, clock.ms))  # newest now
    five = (await limits(server))["five_hour"]["official"]
    assert (five["usedPercentage"], five["deviceId"]) == (50, "laptop")


async def test_the_seven_day_estimate_is_the_sum_of_every_devices_entries(
    clocked: tuple[RunningServer, FixedClock],
) -> None:
    server, clock = clocked
    now = clock.ms
    reset_s = STATUSLINE["seven_day"]["resets_at"]
    start = reset_s * 1000 - 7 * DAY_MS
    pushes: dict[str, list[dict[str, Any]]] = {}
    expected = 0
    n = 0
    for device, days_ago in (("laptop", (0.1, 1.5, 6.0)), ("desktop", (0.2, 3.0)), ("ci", (8.0,))):
        for ago in days_ago:
            n += 1
            entry = now_entry(now, n, minutes_ago=ago * 24 * 60, tokens=1000 * n, session=device)
            pushes.setdefault(device, []).append(entry)
            if start <= entry["timestamp"] < reset_s * 1000:
                expected += entry["inputTokens"] + entry["outputTokens"]
    async with server.client() as http:
        for device, entries in pushes.items():
            answer = await http.post(f"/api/usage/{device}", json={"entries": entries})
            assert answer.status_code == 200, answer.text
    await post(server, "laptop", statusline_body(now))
    seven = (await limits(server))["seven_day"]
    assert seven["estimate"]["span"] == "official"
    assert seven["estimate"]["start"] == iso_millis(start)
    assert seven["estimate"]["tokens"] == expected
    assert expected < sum(e["inputTokens"] + e["outputTokens"] for v in pushes.values() for e in v)


async def test_limits_update_reaches_websocket_clients(
    clocked: tuple[RunningServer, FixedClock],
) -> None:
    server, clock = clocked
    url = "ws" + server.url.removeprefix("http") + "/ws"
    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "subscribe", "channels": ["limits"]}))
        await post(server, "desktop", statusline_body(clock.ms))

        async def update() -> dict[str, Any]:
            while True:
                message: dict[str, Any] = json.loads(await ws.recv())
                if message.get("type") == "limits_update":
                    return message

        message = await asyncio.wait_for(update(), timeout=15)
    by_name = {item["name"]: item for item in message["limits"]["limits"]}
    assert by_name["five_hour"]["official"]["usedPercentage"] == 23.5
    assert parse_timestamp(message["timestamp"]) == clock.ms


async def test_the_subscription_view_prices_the_billing_period(
    clocked: tuple[RunningServer, FixedClock],
) -> None:
    server, clock = clocked
    async with server.client() as http:
        assert (await http.get("/api/limits")).json()["subscription"] is None
        answer = await http.put("/api/config", json={"plan": {"name": "max5x", "billingDay": 28}})
        assert answer.status_code == 200, answer.text
        assert answer.json()["plan"] == {"name": "max5x", "billingDay": 28}
        refused = await http.put("/api/config", json={"plan": {"name": "custom"}})
        assert refused.status_code in (400, 422) and "priceUSD" in refused.text
        entries = [
            now_entry(clock.ms, 1, minutes_ago=60, tokens=200_000),  # 2026-11-29: in the period
            now_entry(clock.ms, 2, minutes_ago=2 * 24 * 60, tokens=300_000),  # the 27th: before
        ]
        assert (await http.post("/api/usage/laptop", json={"entries": entries})).status_code == 200
        view = (await http.get("/api/limits")).json()["subscription"]
        daily = (await http.get("/api/reports/daily", params={"since": "20261128"})).json()
    assert (view["plan"], view["priceUSD"]) == ("max5x", 100.0)
    assert view["periodStart"] == "2026-11-28T00:00:00.000Z"
    assert view["periodEnd"] == "2026-12-28T00:00:00.000Z"
    assert view["apiCostUSD"] == pytest.approx(daily["totals"]["totalCost"], rel=1e-9)
    assert view["apiCostUSD"] > 0 and view["multiple"] == pytest.approx(view["apiCostUSD"] / 100)
