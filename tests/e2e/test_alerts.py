"""Alerts end to end: two server replicas sharing Redis and PostgreSQL, a local HTTP sink
as a ``json://`` Apprise channel. Each rule fires exactly once per window however many
replicas look, and once more after the window resets and is crossed again."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from ccsync.clock import FixedClock
from ccsync.settings import Settings
from ccsync.storage.history import open_history_store
from fixtures.server import RunningServer, run_server

pytestmark = pytest.mark.services

HOUR_MS = 3_600_000
START_MS = 1_795_938_000_000  # 2026-11-29T07:40:00Z
SHARED_KEY = Fernet.generate_key().decode()
"""Replicas share the key secrets are sealed under (``CCSYNC_SECRET_KEY``)."""


@dataclass
class Sink:
    """A webhook receiver on loopback: every JSON body posted to it, in order."""

    port: int
    received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def channel(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"


@pytest.fixture
def sink() -> Iterator[Sink]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.append(json.loads(self.rfile.read(length) or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Sink(server.server_address[1], received)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def replicas(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[list[RunningServer], FixedClock]]:
    clock = FixedClock(START_MS)
    running = []
    async with AsyncExitStack() as stack:
        for n in range(2):
            settings = Settings(
                data_dir=tmp_path / f"data{n}",
                local_agent=False,
                host="127.0.0.1",
                secret_key=SHARED_KEY,
                redis_url=request.getfixturevalue("redis_url"),
                redis_prefix=request.getfixturevalue("redis_prefix"),
            )
            history = await open_history_store(
                request.getfixturevalue("database_url"), schema=request.getfixturevalue("pg_schema")
            )
            stack.push_async_callback(history.aclose)
            running.append(await stack.enter_async_context(run_server(settings, history, clock)))
        yield running, clock


async def until(check: Any, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def post_reading(
    server: RunningServer, device: str, percent: float, reset_ms: int, clock: FixedClock
) -> None:
    body = {
        "five_hour": {
            "used_percentage": percent,
            "resets_at": reset_ms / 1000,
            "observed_at": clock.ms / 1000,
        },
        "source": "statusline",
    }
    async with server.client() as http:
        answer = await http.post(f"/api/limits/{device}", json=body)
        assert answer.status_code == 200, answer.text


async def test_each_rule_fires_once_per_window_across_replicas(
    replicas: tuple[list[RunningServer], FixedClock], sink: Sink
) -> None:
    (a, b), clock = replicas
    rules = [{"window": "five_hour", "atPercent": 80}, {"window": "five_hour", "atPercent": 95}]
    async with a.client() as http:
        answer = await http.put("/api/alerts", json={"channels": [sink.channel], "rules": rules})
        assert answer.status_code == 200, answer.text
        assert answer.json()["channels"] == [f"json://127.0.0.1:{sink.port}/hook"]
    async with b.client() as http:  # the configuration is the database's: both replicas see it
        assert (await http.get("/api/alerts")).json()["rules"] == rules

    reset = START_MS + 3 * HOUR_MS
    await post_reading(a, "laptop", 85, reset, clock)  # crosses 80 %
    await until(lambda: _count(sink, 1))
    clock.advance(60_000)
    await post_reading(b, "desktop", 97, reset, clock)  # crosses 95 %
    await until(lambda: _count(sink, 2))
    # However often and however concurrently the replicas look again, nothing more is sent.
    for _ in range(5):
        await asyncio.gather(
            a.services.limit_monitor.look("default"), b.services.limit_monitor.look("default")
        )
    await asyncio.sleep(1.5)
    titles = [message["title"] for message in sink.received]
    assert titles == ["5-hour window at 85 %", "5-hour window at 97 %"]
    assert sink.received[0]["message"] == "5-hour window: 85.0 % used (official), resets in 3h00m."

    # The window resets; the next one is crossed again: one more alert for 80 % (not 95 %).
    clock.ms = reset + 60_000
    await post_reading(b, "desktop", 81, reset + 5 * HOUR_MS, clock)
    await until(lambda: _count(sink, 3))
    for _ in range(3):
        await asyncio.gather(
            a.services.limit_monitor.look("default"), b.services.limit_monitor.look("default")
        )
    await asyncio.sleep(1.5)
    assert [m["title"] for m in sink.received][2:] == ["5-hour window at 81 %"]

    async with a.client() as http:
        history = (await http.get("/api/alerts/history")).json()
    assert [(h["rule"], h["status"]) for h in history] == [
        ("percent:80", "sent"),
        ("percent:95", "sent"),
        ("percent:80", "sent"),
    ]


async def test_a_test_message_reaches_the_channel(
    replicas: tuple[list[RunningServer], FixedClock], sink: Sink
) -> None:
    (a, _), _ = replicas
    async with a.client() as http:
        refused = await http.post("/api/alerts/test")
        assert refused.status_code == 422 and "no channels" in refused.json()["error"]
        await http.put("/api/alerts", json={"channels": [sink.channel]})
        answer = await http.post("/api/alerts/test")
    assert answer.status_code == 200 and answer.json() == {
        "success": True,
        "channels": 1,
        "error": None,
    }
    assert [m["title"] for m in sink.received] == ["ccsync test alert"]


async def _count(sink: Sink, n: int) -> bool:
    return len(sink.received) >= n


async def test_channel_urls_are_sealed_at_rest_and_masked_when_shown(
    replicas: tuple[list[RunningServer], FixedClock],
) -> None:
    (a, b), _ = replicas
    secret = "json://user:hunter2@127.0.0.1:9/hook"
    async with a.client() as http:
        shown = (await http.put("/api/alerts", json={"channels": [secret]})).json()
    assert shown["channels"] == ["json://user:***@127.0.0.1:9/hook"]
    stored = json.dumps(await a.services.history.settings.get_settings())
    assert "hunter2" not in stored and "127.0.0.1:9" not in stored
    # Replicas share the key (CCSYNC_SECRET_KEY here; one data dir's key file otherwise).
    assert (await b.services.alerts.stored()).channels == [secret]
