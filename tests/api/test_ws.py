"""The WebSocket protocol (``api.ws``) over real sockets, on both backend pairs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from fixtures.payloads import now_entry
from fixtures.server import RunningServer


@asynccontextmanager
async def socket(
    server: RunningServer, path: str = "/ws", **headers: str
) -> AsyncIterator[ClientConnection]:
    url = "ws" + server.url.removeprefix("http") + path
    async with connect(url, additional_headers=headers, max_size=None) as ws:
        yield ws


async def receive(
    ws: ClientConnection, kind: str | None = None, timeout: float = 5
) -> dict[str, Any]:
    """The next message (of ``kind``, skipping others)."""
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout=max(0.01, deadline - time.monotonic()))
        message: dict[str, Any] = json.loads(raw)
        if kind is None or message.get("type") == kind:
            return message


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def test_initial_data_ping_and_live_data(server: RunningServer) -> None:
    async with server.client() as http:
        await http.post("/api/metrics/gpu", json={"temp": 60})
    for path in ("/", "/ws"):
        async with socket(server, path) as ws:
            initial = await receive(ws)
            assert initial["type"] == "initial-data" and initial["data"]["live:gpu"]["temp"] == 60
            await send(ws, {"type": "ping"})
            assert (await receive(ws))["type"] == "pong"
            await send(ws, {"type": "get-live-data", "key": "gpu"})
            answer = await receive(ws)
            assert answer == {
                "type": "live-data-response",
                "key": "gpu",
                "data": initial["data"]["live:gpu"],
            }


async def test_bad_messages_keep_the_connection_open(server: RunningServer) -> None:
    async with socket(server) as ws:
        await receive(ws, "initial-data")
        for bad in (
            "{oops",
            "[1, 2]",
            '{"type": 5}',
            "null",
            "[" * 100_000,
            '{"type": "ping", "x": Infinity',
        ):
            await ws.send(bad)
            error = await receive(ws)
            assert error["type"] == "error" and error["code"] == 4000
        await ws.send(b"\x00\x01binary")
        assert (await receive(ws))["code"] == 4000
        await send(ws, {"type": "teleport"})
        unknown = await receive(ws)
        assert unknown["error"] == "Unknown message type"
        await send(ws, {"type": "get-live-data"})
        assert (await receive(ws))["code"] == 4000
        await send(ws, {"type": "subscribe", "channel": "nonsense"})
        assert (await receive(ws))["code"] == 4000
        await send(
            ws, {"type": "usage_update", "deviceId": "d", "entries": [{"bogus": 1}], "tokens": 1}
        )
        assert (await receive(ws))["code"] == 4000
        await send(ws, {"type": "ping"})
        assert (await receive(ws))["type"] == "pong"


async def test_usage_update_answers_with_the_window_and_broadcasts(server: RunningServer) -> None:
    now = int(time.time() * 1000)
    async with socket(server) as watcher, socket(server) as agent:
        await receive(watcher, "initial-data")
        await receive(agent, "initial-data")
        await send(
            agent, {"type": "usage_update", "deviceId": "laptop", "entries": [now_entry(now, 1)]}
        )
        answer = await receive(agent, "sync_response")
        assert answer["success"] is True and answer["accepted"] == 1
        assert answer["syncWindow"]["tokens"] == 1500
        broadcast = await receive(watcher, "token_usage_update")
        assert broadcast["deviceId"] == "laptop" and broadcast["window"]["tokens"] == 1500
        await send(
            agent, {"type": "update_usage", "deviceId": "laptop", "entries": [now_entry(now, 1)]}
        )
        again = await receive(agent, "sync_response")
        assert (again["accepted"], again["duplicate"]) == (0, 1)


async def test_subscribe_filters_events(server: RunningServer) -> None:
    async with socket(server) as ws:
        await receive(ws, "initial-data")
        await send(ws, {"type": "subscribe", "channel": "metrics"})
        assert await receive(ws) == {"type": "subscribed", "channel": "metrics"}
        async with server.client() as http:
            await http.post("/api/usage/x", json={"tokens": 3})  # a usage event: filtered out
            await http.post("/api/metrics/m", json={"v": 1})
        update = await receive(ws)
        assert update["type"] == "live-data-update" and update["key"] == "m"


async def test_devices_connect_and_disconnect(server: RunningServer) -> None:
    async with socket(server) as watcher:
        await receive(watcher, "initial-data")
        async with socket(server, "/ws?deviceId=desk") as agent:
            await receive(agent, "initial-data")
            assert (await receive(agent, "welcome"))["deviceId"] == "desk"
            assert (await receive(watcher, "device_connected"))["deviceId"] == "desk"
            async with server.client() as http:
                devices = (await http.get("/api/usage")).json()["devices"]
                assert devices[0]["online"] is True
                asked = (await http.put("/api/usage/sync")).json()
                assert asked["requested"] == 1 and asked["devices"] == ["desk"]
            assert (await receive(agent, "sync_request"))["type"] == "sync_request"
            assert (await receive(watcher, "sync_status"))["requested"] == 1
        assert (await receive(watcher, "device_disconnected"))["deviceId"] == "desk"
    async with server.client() as http:
        assert (await http.get("/api/usage/desk")).json()["online"] is False


async def test_hello_names_the_device(server: RunningServer) -> None:
    async with socket(server) as ws:
        await receive(ws, "initial-data")
        await send(
            ws, {"type": "hello", "deviceId": "tablet", "name": "My tablet", "version": "0.1.0"}
        )
        assert (await receive(ws, "welcome"))["account"] == "default"
        await send(ws, {"type": "hello", "deviceId": "bad id!"})
        assert (await receive(ws, "error"))["code"] == 4000
    async with server.client() as http:
        assert (await http.get("/api/usage/tablet")).json()["name"] == "My tablet"


async def test_the_history_and_a_streams_mark_are_told(server: RunningServer) -> None:
    """In ``welcome`` (``?deviceId=&stream=`` and ``hello``), in each acknowledgement, and
    at ``GET /api/usage/{deviceId}/mark``: what an agent needs to see a lost history."""
    history = await server.services.history.entries.history_id()
    now = int(time.time() * 1000)
    async with socket(server, "/ws?deviceId=desk&stream=s1") as agent:
        await receive(agent, "initial-data")
        welcome = await receive(agent, "welcome")
        assert (welcome["historyId"], welcome["mark"]) == (history, 0)
        numbered = {"stream": "s1", "seq": 7, "acked": 0}
        await send(
            agent,
            {
                "type": "usage_update",
                "deviceId": "desk",
                "entries": [now_entry(now, 1)],
                **numbered,
            },
        )
        answer = await receive(agent, "sync_response")
        assert (answer["accepted"], answer["historyId"], answer["mark"]) == (1, history, 7)
        await send(agent, {"type": "hello", "deviceId": "desk", "stream": "s1"})
        assert (await receive(agent, "welcome"))["mark"] == 7
    async with server.client() as http:
        told = (await http.get("/api/usage/desk/mark", params={"stream": "s1"})).json()
        assert told == {"historyId": history, "deviceId": "desk", "stream": "s1", "mark": 7}
        pushed = await http.post(
            "/api/usage/desk",
            json={"entries": [now_entry(now, 2)], "stream": "s1", "seq": 9, "acked": 7},
        )
        assert (pushed.json()["historyId"], pushed.json()["mark"]) == (history, 9)
        assert (await http.get("/api/usage/desk/mark")).status_code == 422
        bad = await http.get("/api/usage/desk/mark", params={"stream": "a b"})
        assert bad.status_code == 422


async def test_frames_above_the_limit_close_the_socket(
    tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    from fixtures.server import backend_server

    limited = backend_server(request, "memory+sqlite", tmp_path, max_frame_bytes=64 * 1024)
    async with limited as running, socket(running) as ws:
        await receive(ws, "initial-data")
        await ws.send("x" * (200 * 1024))
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
