"""``POST /api/limits/{deviceId}``: official readings with their source, the newest kept per
window whatever order they arrive in, none shown after its reset."""

from __future__ import annotations

import time
from typing import Any

from ccsync.usage.timestamps import iso_millis
from fixtures.server import RunningServer


def now_s() -> float:
    return time.time()


async def official(server: RunningServer) -> dict[str, Any]:
    async with server.client() as http:
        found: dict[str, Any] = (await http.get("/api/window")).json()["official"]
        return found


async def test_a_transcript_reading_keeps_its_source_device_and_time(server: RunningServer) -> None:
    now = now_s()
    observed, resets = now - 600, int(now + 3600)
    body = {
        "five_hour": {"used_percentage": 100, "resets_at": resets, "observed_at": observed},
        "source": "transcript",
    }
    async with server.client() as http:
        answer = await http.post("/api/limits/laptop", json=body)
        assert answer.status_code == 200, answer.text
    five = (await official(server))["fiveHour"]
    assert five["usedPercentage"] == 100 and five["resetsAt"] == iso_millis(resets * 1000)
    assert five["source"] == "transcript" and five["deviceId"] == "laptop"
    assert five["observedAt"] == iso_millis(int(observed * 1000))
    assert 590 <= five["ageSeconds"] <= 700  # as old as the line, not as the push


async def test_the_newest_reading_of_a_window_stays_whatever_the_order(
    server: RunningServer,
) -> None:
    now = now_s()
    newer = {
        "five_hour": {"used_percentage": 40, "resets_at": now + 3600, "observed_at": now - 60},
        "source": "statusline",
    }
    older = {
        "five_hour": {"used_percentage": 100, "resets_at": now + 3000, "observed_at": now - 600},
        "seven_day": {"used_percentage": 70, "resets_at": now + 86_400, "observed_at": now - 600},
        "source": "transcript",
    }
    async with server.client() as http:
        assert (await http.post("/api/limits/desktop", json=newer)).status_code == 200
        assert (await http.post("/api/limits/laptop", json=older)).status_code == 200
    found = await official(server)
    # The five-hour reading read late from a transcript does not undo the newer one; its
    # seven-day window had no reading, so that one is taken.
    assert found["fiveHour"]["usedPercentage"] == 40 and found["fiveHour"]["deviceId"] == "desktop"
    assert found["sevenDay"]["usedPercentage"] == 70 and found["sevenDay"]["source"] == "transcript"
    # A reading without its own time is as new as its arrival: it wins.
    async with server.client() as http:
        plain = {"five_hour": {"used_percentage": 55, "resets_at": now + 3600}}
        assert (await http.post("/api/limits/laptop", json=plain)).status_code == 200
    assert (await official(server))["fiveHour"]["usedPercentage"] == 55


async def test_a_clock_ahead_does_not_make_a_reading_newer(server: RunningServer) -> None:
    now = now_s()
    ahead = {
        "five_hour": {"used_percentage": 10, "resets_at": now + 3600, "observed_at": now + 3000}
    }
    async with server.client() as http:
        assert (await http.post("/api/limits/fast-clock", json=ahead)).status_code == 200
        later = {"five_hour": {"used_percentage": 20, "resets_at": now + 3600}}
        assert (await http.post("/api/limits/laptop", json=later)).status_code == 200
    assert (await official(server))["fiveHour"]["usedPercentage"] == 20


async def test_readings_whose_reset_passed_are_neither_kept_nor_shown(
    server: RunningServer,
) -> None:
    now = now_s()
    async with server.client() as http:
        passed = {"five_hour": {"used_percentage": 100, "resets_at": now - 1}}
        assert (await http.post("/api/limits/laptop", json=passed)).status_code == 200
        assert (await official(server)) == {}
        # One kept before its reset, read after it: not shown (the store is checked on read).
        account = (await http.get("/api/window")).json()["account"]
    stored = {
        "fiveHour": {
            "usedPercentage": 90,
            "resetsAtMs": int((now - 5) * 1000),
            "deviceId": "laptop",
            "reportedMs": int((now - 100) * 1000),
        },
        "sevenDay": {
            "usedPercentage": 30,
            "resetsAtMs": int((now + 5000) * 1000),
            "deviceId": "laptop",
            "reportedMs": int((now - 100) * 1000),
        },
    }
    await server.services.live.values.set(f"limits:{account}", stored)
    found = await official(server)
    assert list(found) == ["sevenDay"] and found["sevenDay"]["source"] == "statusline"
    # The warm-up still learns from it that the window ended (``warmup.window_state``).
    view = await server.services.reporter.current_window(account)
    assert view.official["fiveHour"].resets_at_ms == int((now - 5) * 1000)
    # ... and a new reading replaces the passed one even though that was observed later.
    async with server.client() as http:
        earlier = {
            "five_hour": {"used_percentage": 5, "resets_at": now + 60, "observed_at": now - 200}
        }
        assert (await http.post("/api/limits/laptop", json=earlier)).status_code == 200
    assert (await official(server))["fiveHour"]["usedPercentage"] == 5


async def test_model_scoped_windows_are_kept_under_their_own_name(server: RunningServer) -> None:
    now = now_s()
    body = {
        "windows": {
            "seven_day_opus": {"used_percentage": 100, "resets_at": now + 86_400},
            "seven_day_sonnet": {"used_percentage": 100, "resets_at": now + 2 * 86_400},
        },
        "source": "transcript",
    }
    async with server.client() as http:
        assert (await http.post("/api/limits/laptop", json=body)).status_code == 200
        for bad in (
            {"windows": {"five_hour": {"used_percentage": 1}}},  # has its own field
            {"windows": {"overage": {"used_percentage": 1}}},
            {"source": "Not A Source!"},
            {"five_hour": {"used_percentage": 1, "observed_at": now + 3 * 86_400}},
        ):
            refused = await http.post("/api/limits/laptop", json=bad)
            assert refused.status_code == 422, bad
    found = await official(server)
    assert set(found) == {"sevenDayOpus", "sevenDaySonnet"}
    assert found["sevenDayOpus"]["source"] == "transcript"


async def test_readings_live_as_long_as_their_reset_is_ahead(server: RunningServer) -> None:
    """The live key outlives the shortest reset: a five-hour reading after a weekly one
    does not cut the weekly one's life short."""
    now = now_s()
    async with server.client() as http:
        week = {"seven_day": {"used_percentage": 30, "resets_at": now + 6 * 86_400}}
        assert (await http.post("/api/limits/laptop", json=week)).status_code == 200
        five = {"five_hour": {"used_percentage": 10, "resets_at": now + 600}}
        assert (await http.post("/api/limits/laptop", json=five)).status_code == 200
        account = (await http.get("/api/window")).json()["account"]
    ttl = await server.services.live.values.ttl(f"limits:{account}")
    assert ttl is not None and ttl > 5 * 86_400
