"""The opt-in usage poller against a stand-in usage endpoint on loopback that answers as
the real one does (the body shapes in tests/fixtures/usage_response, 429 with
Retry-After, 403 for a token without the profile scope): readings kept as official
(source ``usage_api``), one poll per interval across replicas, backoff, a sealed token."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ccsync.clock import FixedClock
from ccsync.settings import Settings
from ccsync.storage.history import open_history_store
from ccsync.usage.timestamps import iso_millis
from fixtures.server import RunningServer, run_server

RESPONSES = Path(__file__).parents[1] / "fixtures" / "usage_response"
NOW_MS = 1_784_556_000_000  # 2026-07-20T14:00:00Z: an hour before the fixture's 5-hour reset
TOKEN = "sk-ant-oat01-" + "x" * 40


@dataclass
class UsageEndpoint:
    """A stand-in for the account usage endpoint: answers ``status`` with ``body``."""

    port: int
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/oauth/usage"


@pytest.fixture
def endpoint() -> Iterator[UsageEndpoint]:
    state = UsageEndpoint(0, body=(RESPONSES / "weekly-scoped.json").read_bytes())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(dict(self.headers))
            self.send_response(state.status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


async def servers(
    stack: AsyncExitStack,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    endpoint: UsageEndpoint,
    clock: FixedClock,
    count: int,
) -> list[RunningServer]:
    shared = count > 1
    running = []
    for n in range(count):
        settings = Settings(
            data_dir=tmp_path / f"data{n}",
            local_agent=False,
            host="127.0.0.1",
            usage_api_url=endpoint.url,
            secret_key="q4m0TqVqW1Zk8h3eZ2YQm2m2s5uQ0Qm6gSxqk1o9oZI=",
        )
        history = None
        if shared:
            settings = settings.with_overrides(
                redis_url=request.getfixturevalue("redis_url"),
                redis_prefix=request.getfixturevalue("redis_prefix"),
            )
            history = await open_history_store(
                request.getfixturevalue("database_url"), schema=request.getfixturevalue("pg_schema")
            )
            stack.push_async_callback(history.aclose)
        running.append(await stack.enter_async_context(run_server(settings, history, clock)))
    return running


@pytest.fixture
async def one(
    request: pytest.FixtureRequest, tmp_path: Path, endpoint: UsageEndpoint
) -> AsyncIterator[tuple[RunningServer, FixedClock]]:
    clock = FixedClock(NOW_MS)
    async with AsyncExitStack() as stack:
        [server] = await servers(stack, request, tmp_path, endpoint, clock, 1)
        yield server, clock


async def test_a_token_is_sealed_and_the_readings_become_official(
    one: tuple[RunningServer, FixedClock], endpoint: UsageEndpoint
) -> None:
    server, clock = one
    async with server.client() as http:
        answer = await http.put("/api/limits/poller", json={"token": TOKEN})
        assert answer.status_code == 200, answer.text
        assert TOKEN not in answer.text
        assert answer.json()["accounts"][0]["tokenSet"] is True
    stored = json.dumps(await server.services.history.settings.get_settings())
    assert TOKEN not in stored and "x" * 40 not in stored  # sealed at rest

    assert await server.services.usage_poller.poll_if_due("default")
    [sent] = endpoint.requests
    assert sent["Authorization"] == f"Bearer {TOKEN}"
    assert sent["anthropic-beta"] == "oauth-2025-04-20"
    async with server.client() as http:
        limits = {i["name"]: i for i in (await http.get("/api/limits")).json()["limits"]}
        view = (await http.get("/api/limits/poller")).json()
    five = limits["five_hour"]["official"]
    assert (five["usedPercentage"], five["source"], five["deviceId"]) == (
        17,
        "usage_api",
        "usage-api",
    )
    assert limits["seven_day_fable"]["official"]["usedPercentage"] == 81
    assert view["accounts"][0]["lastSuccessAt"] == iso_millis(NOW_MS)
    assert view["accounts"][0]["lastError"] is None

    # Within the interval nobody polls again, however often asked.
    assert not await server.services.usage_poller.poll_if_due("default")
    clock.advance(299_000)
    assert not await server.services.usage_poller.poll_if_due("default")
    assert len(endpoint.requests) == 1


async def test_429_backs_off_as_told_and_403_says_why(
    one: tuple[RunningServer, FixedClock], endpoint: UsageEndpoint
) -> None:
    server, clock = one
    poller = server.services.usage_poller
    async with server.client() as http:
        await http.put("/api/limits/poller", json={"token": TOKEN})
    endpoint.status, endpoint.headers = 429, {"Retry-After": "900"}
    endpoint.body = (
        b'{"error":{"type":"rate_limit_error","message":"Rate limited. Please try again later."}}'
    )
    state = await poller.poll("default")
    assert state.last_error == "rate limited (429)"
    assert state.next_poll_ms == NOW_MS + 900_000
    clock.advance(600_000)
    assert not await poller.poll_if_due("default")  # the backoff holds
    clock.advance(300_000)
    endpoint.status, endpoint.headers, endpoint.body = 403, {}, b'{"error":{}}'
    await server.services.live.values.delete("poller:default")  # (the interval's claim, in a test)
    assert await poller.poll_if_due("default")
    async with server.client() as http:
        view = (await http.get("/api/limits/poller")).json()["accounts"][0]
    assert view["lastError"] == "token lacks the user:profile scope (403)"
    assert TOKEN not in json.dumps(view)
    async with server.client() as http:
        gone = await http.delete("/api/limits/poller")
        assert gone.status_code == 200 and gone.json()["accounts"] == []
        missing = await http.delete("/api/limits/poller")
        assert missing.status_code == 400


@pytest.mark.services
async def test_one_replica_polls_per_interval(
    request: pytest.FixtureRequest, tmp_path: Path, endpoint: UsageEndpoint
) -> None:
    clock = FixedClock(NOW_MS)
    async with AsyncExitStack() as stack:
        a, b = await servers(stack, request, tmp_path, endpoint, clock, 2)
        async with a.client() as http:
            await http.put("/api/limits/poller", json={"token": TOKEN})
        polled = [
            await a.services.usage_poller.poll_if_due("default"),
            await b.services.usage_poller.poll_if_due("default"),
            await b.services.usage_poller.poll_if_due("default"),
        ]
        assert polled.count(True) == 1 and len(endpoint.requests) == 1
        async with b.client() as http:  # the readings reach every replica
            limits = {i["name"]: i for i in (await http.get("/api/limits")).json()["limits"]}
        assert limits["seven_day"]["official"]["source"] == "usage_api"
