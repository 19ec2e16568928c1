"""Every background loop of a real server, failed once on purpose: the failure is logged
with the loop's name, the loop runs again and does its work, and ``/metrics`` and
``/api/status`` count the restart. Each loop's own step raises ``RuntimeError("boom")``
the first time it is called after the patch."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from ccsync.api.hub import SocketHub
from ccsync.server import events, retention, runtime_config
from ccsync.settings import Settings
from ccsync.storage.history import open_history_store
from fixtures.doubles import Doubles
from fixtures.lines import assistant, dump, write_transcript
from fixtures.payloads import now_entry
from fixtures.server import RunningServer, backend_server, run_server

pytestmark = pytest.mark.timeout(60)

SUPERVISOR = "ccsync.server.supervisor"
BOOM = "RuntimeError: boom"


def crash_once(monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> list[str]:
    """Replace ``target.name`` by a version that raises the first time it is called; the
    list it returns grows by one at each call."""
    original = getattr(target, name)
    calls: list[str] = []

    def check() -> None:
        calls.append(name)
        if len(calls) == 1:
            raise RuntimeError("boom")

    if inspect.iscoroutinefunction(original):

        async def crashing(*args: Any, **kwargs: Any) -> Any:
            check()
            return await original(*args, **kwargs)

        monkeypatch.setattr(target, name, crashing)
    else:

        def crashing_sync(*args: Any, **kwargs: Any) -> Any:
            check()
            return original(*args, **kwargs)

        monkeypatch.setattr(target, name, crashing_sync)
    return calls


async def until(condition: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.1)


async def assert_restarted(
    server: RunningServer, caplog: pytest.LogCaptureFixture, task: str
) -> dict[str, dict[str, Any]]:
    """The crash of ``task`` was logged, counted, and is shown; the others never failed."""
    crashed = [r for r in caplog.records if r.message == "task.crashed"]
    assert [(r.task, r.error) for r in crashed] == [(task, BOOM)]  # type: ignore[attr-defined]
    assert crashed[0].exc_info is not None and "boom" in str(crashed[0].exc_info[1])
    async with server.client() as http:
        metrics = (await http.get("/metrics")).text
        status = (await http.get("/api/status")).json()
    assert f'ccsync_task_restarts_total{{task="{task}"}} 1.0' in metrics
    assert f'ccsync_task_running{{task="{task}"}} 1.0' in metrics
    tasks = {entry["name"]: entry for entry in status["tasks"]}
    assert tasks[task]["state"] == "running" and tasks[task]["restarts"] == 1
    assert tasks[task]["lastError"] == BOOM and tasks[task]["lastCrashAt"] is not None
    assert all(entry["restarts"] == 0 for name, entry in tasks.items() if name != task)
    return tasks


async def test_the_relay_delivers_again_after_a_crash(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=SUPERVISOR)
    calls = crash_once(monkeypatch, SocketHub, "deliver")
    async with connect(server.ws_url) as ws, server.client() as http:
        assert json.loads(await ws.recv())["type"] == "initial-data"
        await http.post("/api/metrics/gpu", json={"n": 0})

        async def crashed() -> bool:
            return bool(calls)

        await until(crashed)
        # Back after its backoff (and subscribed again): events reach the socket.
        received: dict[str, Any] | None = None
        for n in range(1, 100):
            await http.post("/api/metrics/gpu", json={"n": n})
            try:
                received = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                break
            except TimeoutError:
                continue
    assert received is not None and received["type"] == events.LIVE_DATA_UPDATE
    assert received["data"]["n"] >= 1
    tasks = await assert_restarted(server, caplog, "relay")
    assert set(tasks) == {"relay", "scheduler", "retention", "limits", "usage-poller"}


async def test_the_scheduler_fires_again_after_a_crash(
    server: RunningServer,
    doubles: Doubles,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    doubles.install(monkeypatch)
    caplog.set_level(logging.ERROR, logger=SUPERVISOR)
    calls = crash_once(monkeypatch, server.services.scheduler, "_tick")

    async def crashed() -> bool:
        return bool(calls)

    await until(crashed)  # within a second: the loop looks at least that often
    async with server.client() as http:
        # Only the restarted loop can fire the job created now.
        created = await http.post(
            "/api/cron",
            json={"name": "ticking", "schedule": "* * * * * *", "command": "ccusage blocks --json"},
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["job"]["id"]

        async def fired() -> bool:
            runs = (await http.get(f"/api/cron/{job_id}/runs")).json()["runs"]
            return any(r["trigger"] == "schedule" and r["status"] == "succeeded" for r in runs)

        await until(fired)
    await assert_restarted(server, caplog, "scheduler")


async def test_the_limits_monitor_looks_again_after_a_crash(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=SUPERVISOR)
    calls = crash_once(monkeypatch, server.services.limits, "limits")
    reading = {"five_hour": {"used_percentage": 12.5, "resets_at": time.time() + 3600}}
    async with connect(server.ws_url) as ws, server.client() as http:
        assert json.loads(await ws.recv())["type"] == "initial-data"
        await ws.send(json.dumps({"type": "subscribe", "channels": ["limits"]}))
        assert (await http.post("/api/limits/laptop", json=reading)).status_code == 200

        async def crashed() -> bool:
            return bool(calls)

        await until(crashed)
        # Only the restarted loop can tell the socket of the readings sent now.
        received: dict[str, Any] | None = None
        for n in range(1, 100):
            reading["five_hour"]["used_percentage"] = 12.5 + n
            assert (await http.post("/api/limits/laptop", json=reading)).status_code == 200
            try:
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                    if message["type"] == events.LIMITS_UPDATE:
                        received = message
                        break
                break
            except TimeoutError:
                continue
    assert received is not None
    await assert_restarted(server, caplog, "limits")


async def test_the_usage_poller_looks_again_after_a_crash(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=SUPERVISOR)
    poller = server.services.usage_poller
    poller.check_seconds = 0.05
    calls = crash_once(monkeypatch, poller, "_tokens")
    # Started again so that it looks now (not after its usual 15 s).
    await server.services.supervisor.stop("usage-poller")
    server.services.supervisor.start("usage-poller", poller.run)

    async def looked_again() -> bool:
        return len(calls) >= 2

    await until(looked_again)
    await assert_restarted(server, caplog, "usage-poller")


async def test_the_host_agent_follows_again_after_a_crash(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger=SUPERVISOR)
    host = tmp_path / "claude"
    (host / "projects").mkdir(parents=True)
    async with backend_server(
        request, "memory+sqlite", tmp_path, local_agent=True, claude_dirs=(str(host),)
    ) as running:
        agent = running.services.host_agent
        assert agent is not None
        calls = crash_once(monkeypatch, agent, "sync")
        # The watcher sees a transcript; the sync it wakes fails.
        transcript = write_transcript(host, "-home-dev-p/s1.jsonl", [assistant()])

        async def crashed() -> bool:
            return bool(calls)

        await until(crashed)
        # Only the restarted loop can take what is written now.
        with transcript.open("a") as out:
            out.write(dump(assistant(msg_id="msg_2", req_id="req_2")) + "\n")

        async def ingested() -> bool:
            return await running.services.history.entries.entry_count() == 2

        await until(ingested)
        assert len(calls) >= 2
        await assert_restarted(running, caplog, "host-agent")


async def test_retention_prunes_again_after_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=SUPERVISOR)
    settings = Settings(data_dir=tmp_path / "data", local_agent=False, host="127.0.0.1")
    now = int(time.time() * 1000)
    async with run_server(settings) as first, first.client() as http:
        pushed = await http.post(
            "/api/usage/laptop",
            json={"entries": [now_entry(now, 1, minutes_ago=3 * 24 * 60), now_entry(now, 2)]},
        )
        assert pushed.status_code == 200, pushed.text
    history = await open_history_store(settings.history_url)
    try:
        await history.settings.put_settings({runtime_config.SETTING_RETENTION: 2})
    finally:
        await history.aclose()
    # The next server's retention loop fails at its first prune; its second one prunes.
    calls = crash_once(monkeypatch, retention, "prune_expired")
    async with run_server(settings) as second:

        async def pruned() -> bool:
            return await second.services.history.entries.entry_count() == 1

        await until(pruned)
        assert len(calls) == 2
        await assert_restarted(second, caplog, "retention")


async def test_a_failed_orphan_sweep_is_logged_and_the_scheduler_goes_on(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    doubles: Doubles,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The sweep runs inside the scheduler's loop (before its first tick, so a run left
    ``running`` by a dead server never blocks that tick) and has its own net there."""
    doubles.install(monkeypatch)
    caplog.set_level(logging.ERROR)
    async with backend_server(request, "memory+sqlite", tmp_path) as running:
        scheduler = running.services.scheduler
        calls = crash_once(monkeypatch, scheduler.runner, "close_orphans")
        # A restart sweeps again at once: the one after this patch is the failing one.
        await running.services.supervisor.stop("scheduler")
        running.services.supervisor.start("scheduler", scheduler.run)

        async def swept() -> bool:
            return bool(calls)

        await until(swept)
        async with running.client() as http:
            created = await http.post(
                "/api/cron",
                json={"name": "t", "schedule": "* * * * * *", "command": "ccusage blocks --json"},
            )
            job_id = created.json()["job"]["id"]

            async def fired() -> bool:
                runs = (await http.get(f"/api/cron/{job_id}/runs")).json()["runs"]
                return any(r["trigger"] == "schedule" for r in runs)

            await until(fired)
            status = (await http.get("/api/status")).json()
    assert any(r.message == "cron.orphan_sweep_failed" for r in caplog.records)
    assert not any(r.message == "task.crashed" for r in caplog.records)
    assert {t["name"]: t["restarts"] for t in status["tasks"]}["scheduler"] == 0
