"""Claude Code's cached usage response (``~/.claude.json`` → ``cachedUsageUtilization``):
followed by the agent, sent once per fetch as official readings (source ``usage_cache``).

The shapes are those of ``tests/fixtures/usage_response/`` moved forward in time (every
ISO time by the same amount), so that the windows have not reset yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ccsync.agent.config import AgentConfig
from ccsync.agent.readings import cached_rows, limits_to_send, reading_row
from ccsync.agent.runner import Agent
from ccsync.agent.state import AgentState
from ccsync.agent.usage_cache import MARK_KEY, UsageCache
from ccsync.agent.watch import watch_files
from ccsync.usage.limit_hits import LimitHit
from ccsync.usage.timestamps import iso_millis
from ccsync.usage.usage_response import read_cached_usage
from ccsync.wire import RateLimit, RateLimits
from fixtures.processes import agent_once
from fixtures.server import RunningServer

SHAPES = Path(__file__).parents[1] / "fixtures" / "usage_response"
FIVE_HOUR_RESET = datetime(2026, 7, 8, 0, 49, 59, 940321, tzinfo=UTC)
"""``limits-2026-07.json``'s session reset (its weekly ones are 5 days 5 hours later; its
flat ``seven_day_sonnet`` a month earlier)."""
ACCOUNT = "5d2f6c1e-8a3b-4f70-9c2d-1e6b8a4f3c90"
"""The account of ``claude.json``."""
_ISO = re.compile(r'"(\d{4}-\d\d-\d\dT[0-9:.]+\+00:00)"')


def body_now(resets_in: timedelta = timedelta(hours=2)) -> dict[str, Any]:
    """``limits-2026-07.json`` as if fetched now: its session resets in ``resets_in``."""
    shift = datetime.now(UTC) + resets_in - FIVE_HOUR_RESET

    def moved(match: re.Match[str]) -> str:
        return '"' + (datetime.fromisoformat(match.group(1)) + shift).isoformat() + '"'

    loaded: dict[str, Any] = json.loads(
        _ISO.sub(moved, (SHAPES / "limits-2026-07.json").read_text())
    )
    return loaded


def write_claude_json(
    path: Path, fetched_ms: int, body: dict[str, Any], account: str | None = ACCOUNT
) -> None:
    """A whole ``.claude.json`` (``claude.json``'s other keys) carrying this cache,
    replaced as a new file (as editors and careful writers do)."""
    document = json.loads((SHAPES / "claude.json").read_text())
    cache: dict[str, Any] = {"fetchedAtMs": fetched_ms, "utilization": body}
    if account is not None:
        cache["accountUuid"] = account
    document["cachedUsageUtilization"] = cache
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2))
    os.replace(temporary, path)


def now_ms() -> int:
    return int(time.time() * 1000)


def queued(state: AgentState) -> list[tuple[str, dict[str, Any]]]:
    return [(window, json.loads(raw)) for _, window, raw in state.pending_readings(100)]


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AgentState]:
    opened = AgentState(tmp_path / "state" / "agent.db")
    yield opened
    opened.close()


# -- the follower, on its own ----------------------------------------------------------------
def test_a_fetch_is_queued_once_with_its_fetch_time(tmp_path: Path, state: AgentState) -> None:
    home = tmp_path / ".claude.json"
    fetched = now_ms() - 60_000
    body = body_now()
    write_claude_json(home, fetched, body)
    cache = UsageCache(state, [home], ACCOUNT)
    assert cache.check(now_ms()) == 4  # every window with a reset (the flat sonnet one too)
    found = dict(queued(state))
    assert found["five_hour"] == {
        "used_percentage": 53.0,
        "resets_at": int(datetime.fromisoformat(body["limits"][0]["resets_at"]).timestamp() * 1000)
        / 1000,  # to the millisecond
        "observed_at": fetched / 1000,
        "source": "usage_cache",
    }
    assert set(found) == {"five_hour", "seven_day", "seven_day_fable", "seven_day_sonnet"}
    assert state.get(MARK_KEY) == str(fetched)
    assert cache.check(now_ms()) == 0  # nothing changed
    body["limits"][0]["percent"] = 99  # rewritten (other keys change often), same fetch
    write_claude_json(home, fetched, body)
    assert cache.check(now_ms()) == 0
    write_claude_json(home, fetched - 1, body)  # an older fetch
    assert cache.check(now_ms()) == 0
    again = UsageCache(state, [home], ACCOUNT)  # a restarted agent
    assert again.check(now_ms()) == 0
    assert state.readings_waiting() == 4
    write_claude_json(home, fetched + 1, body)
    assert again.check(now_ms()) == 4
    assert state.readings_waiting() == 8 and cache.skipped == again.skipped == 0


def test_a_window_not_started_is_not_queued(tmp_path: Path, state: AgentState) -> None:
    """``code-named-nulls.json``: a session at 0 % with no reset says nothing the server
    could expire (the next request starts the window)."""
    home = tmp_path / ".claude.json"
    write_claude_json(home, now_ms(), json.loads((SHAPES / "code-named-nulls.json").read_text()))
    assert UsageCache(state, [home], None).check(now_ms()) == 2
    assert sorted(window for window, _ in queued(state)) == ["seven_day", "seven_day_fable"]


def test_a_malformed_file_is_a_counted_skip(tmp_path: Path, state: AgentState) -> None:
    home = tmp_path / ".claude.json"
    cache = UsageCache(state, [home], None)
    assert cache.check(now_ms()) == 0 and cache.skipped == 0  # no file: nothing to say
    for garbage in sorted((SHAPES / "garbage").glob("*.claude.json")):
        home.write_bytes(garbage.read_bytes() + b" " * len(garbage.name))  # a new stamp each
        assert cache.check(now_ms()) == 0
    assert cache.skipped == len(list((SHAPES / "garbage").glob("*.claude.json")))
    skipped = cache.skipped
    assert cache.check(now_ms()) == 0 and cache.skipped == skipped  # counted once per change
    write_claude_json(home, now_ms(), body_now())
    assert cache.check(now_ms()) == 4 and state.readings_waiting() == 4


def test_the_file_that_carries_the_figures_is_the_one_read(
    tmp_path: Path, state: AgentState
) -> None:
    """A small bootstrap ``.claude.json`` in the config folder, the real one at home; of two
    that carry a cache, the newer fetch; another account's is not this agent's."""
    bootstrap = tmp_path / ".claude" / ".claude.json"
    bootstrap.parent.mkdir()
    bootstrap.write_bytes((SHAPES / "claude-bootstrap.json").read_bytes())
    home = tmp_path / ".claude.json"
    fetched = now_ms() - 60_000
    write_claude_json(home, fetched, body_now())
    cache = UsageCache(state, [bootstrap, home], ACCOUNT)
    assert cache.check(now_ms()) == 4 and state.get(MARK_KEY) == str(fetched)
    write_claude_json(bootstrap, fetched + 5, body_now())
    assert cache.check(now_ms()) == 4 and state.get(MARK_KEY) == str(fetched + 5)
    write_claude_json(home, fetched + 10, body_now(), account="another-account")
    assert cache.check(now_ms()) == 0 and state.get(MARK_KEY) == str(fetched + 5)
    assert UsageCache(state, [home], "default").check(now_ms()) == 4  # account unknown: taken


def test_a_fetch_from_the_future_is_refused_once(tmp_path: Path, state: AgentState) -> None:
    home = tmp_path / ".claude.json"
    write_claude_json(home, now_ms() + 2 * 86_400_000, body_now())
    cache = UsageCache(state, [home], None)
    assert cache.check(now_ms()) == 0 and cache.check(now_ms()) == 0
    assert cache.skipped == 1 and state.get(MARK_KEY) is None  # later fetches still count


def test_readings_of_both_sources_go_in_one_push_each() -> None:
    current = now_ms()
    snapshot = read_cached_usage(
        json.dumps(
            {"cachedUsageUtilization": {"fetchedAtMs": current - 5_000, "utilization": body_now()}}
        )
    ).snapshot
    assert snapshot is not None
    hit = reading_row(LimitHit("five_hour", current / 1000 + 600, current - 1_000, "rejected"))
    assert hit is not None
    rows = [(n, *row) for n, row in enumerate([*cached_rows(snapshot), hit])]
    transcript, cached = limits_to_send(rows, current, "acct")  # by source name
    assert transcript == RateLimits(  # the limit hit is newer: it is the five-hour reading
        five_hour=RateLimit(100.0, current / 1000 + 600, (current - 1_000) / 1000),
        account="acct",
        source="transcript",
    )
    assert cached.source == "usage_cache" and cached.five_hour is None
    assert cached.seven_day is not None and cached.seven_day.used_percentage == 8.0
    assert sorted(cached.windows or {}) == ["seven_day_fable"]  # sonnet's reset has passed


async def test_a_changed_file_is_noticed(tmp_path: Path) -> None:
    home = tmp_path / ".claude.json"
    changes: list[int] = []
    task = asyncio.create_task(watch_files([home], lambda: changes.append(1), poll_seconds=0.02))
    try:
        await asyncio.sleep(0.1)
        assert changes == []
        write_claude_json(home, now_ms(), body_now())
        for _ in range(200):
            if changes:
                break
            await asyncio.sleep(0.01)
        assert changes == [1]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# -- an agent and a real server ---------------------------------------------------------------
def agent_for(server: RunningServer, tmp_path: Path, home: Path, account: str = ACCOUNT) -> Agent:
    device = tmp_path / "device"
    (device / "projects").mkdir(parents=True, exist_ok=True)
    config = AgentConfig(server=server.url, device="laptop", state_dir=tmp_path / "state")
    return Agent(config, [device], account, claude_json=[home])


async def official(server: RunningServer) -> dict[str, Any]:
    async with server.client() as http:
        found: dict[str, Any] = (await http.get("/api/window")).json()["official"]
        return found


async def test_an_agent_gives_the_server_the_cached_readings(
    server: RunningServer, tmp_path: Path
) -> None:
    home = tmp_path / "home" / ".claude.json"
    fetched = now_ms() - 120_000
    body = body_now()
    write_claude_json(home, fetched, body)
    agent = agent_for(server, tmp_path, home)
    try:
        done = await agent.sync_once()
        assert done.error is None and done.limits == 3 and done.limits_left == 0
        found = await official(server)
        assert set(found) == {"fiveHour", "sevenDay", "sevenDayFable"}  # sonnet's has reset
        for window, percent, entry in (
            ("fiveHour", 53, body["limits"][0]),
            ("sevenDay", 8, body["limits"][1]),
            ("sevenDayFable", 6, body["limits"][2]),
        ):
            reset = datetime.fromisoformat(entry["resets_at"]).timestamp()
            assert found[window]["usedPercentage"] == percent
            assert found[window]["resetsAt"] == iso_millis(int(reset * 1000))
            assert found[window]["source"] == "usage_cache"
            assert found[window]["deviceId"] == "laptop"
            assert found[window]["observedAt"] == iso_millis(fetched)

        body["limits"][0]["percent"] = 99  # the file rewritten around the same fetch
        write_claude_json(home, fetched, body)
        again = await agent.sync_once()
        assert again.error is None and again.limits == 0
        assert (await official(server))["fiveHour"]["usedPercentage"] == 53

        home.write_text('{"numStartups": 7, "cachedUsageUtilization": {"fetchedAtMs": "no"')
        broken = await agent.sync_once()
        assert broken.error is None and broken.limits == 0
        assert agent.usage_cache.skipped == 1
        assert (await official(server))["sevenDayFable"]["usedPercentage"] == 6

        write_claude_json(home, fetched + 60_000, body)  # a new fetch: sent
        newer = await agent.sync_once()
        assert newer.limits == 3
        assert (await official(server))["fiveHour"]["usedPercentage"] == 99
    finally:
        await agent.aclose()


async def test_an_offline_agent_sends_the_cached_readings_later(
    server: RunningServer, tmp_path: Path, unreachable_server: str
) -> None:
    home = tmp_path / ".claude.json"
    write_claude_json(home, now_ms() - 1_000, body_now())
    config = AgentConfig(server=unreachable_server, device="laptop", state_dir=tmp_path / "state")
    (tmp_path / "device" / "projects").mkdir(parents=True)
    offline = Agent(config, [tmp_path / "device"], ACCOUNT, claude_json=[home])
    try:
        done = await offline.sync_once()
        assert done.error is not None and done.limits_left == 4
    finally:
        await offline.aclose()
    agent = agent_for(server, tmp_path, home)
    try:
        done = await agent.sync_once()
        assert done.error is None and done.limits == 3 and done.limits_left == 0
        assert (await official(server))["sevenDayFable"]["source"] == "usage_cache"
    finally:
        await agent.aclose()


async def test_a_following_agent_sends_a_new_fetch_as_claude_code_writes_it(
    server: RunningServer, tmp_path: Path
) -> None:
    home = tmp_path / ".claude.json"
    home.write_bytes((SHAPES / "claude-bootstrap.json").read_bytes())
    agent = agent_for(server, tmp_path, home)
    running = asyncio.create_task(agent.run())
    try:
        await asyncio.sleep(0.5)
        assert await official(server) == {}
        write_claude_json(home, now_ms(), body_now())
        for _ in range(300):  # the file is polled every 2 s
            if "sevenDayFable" in await official(server):
                break
            await asyncio.sleep(0.05)
        found = await official(server)
        assert found["sevenDayFable"]["source"] == "usage_cache"
        assert found["fiveHour"]["usedPercentage"] == 53
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await agent.aclose()


async def test_ccsync_agent_once_reads_the_home_folders_claude_json(
    server: RunningServer, tmp_path: Path
) -> None:
    """The command, as a hook runs it: ``~/.claude.json`` found where Claude Code keeps
    it (the home folder; the device's data directory holds no cache)."""
    state = tmp_path / "state"  # also the home folder (fixtures.processes.agent_env)
    device = tmp_path / "device"
    (device / "projects").mkdir(parents=True)
    write_claude_json(state / ".claude.json", now_ms() - 1_000, body_now(), account=None)
    done = await asyncio.to_thread(agent_once, device, "laptop", server.url, state)
    assert done.returncode == 0, done.stderr
    assert "3 official limit readings sent" in done.stderr
    assert (await official(server))["sevenDayFable"]["observedAt"]
    again = await asyncio.to_thread(agent_once, device, "laptop", server.url, state)
    assert again.returncode == 0 and "official" not in again.stderr  # sent once
