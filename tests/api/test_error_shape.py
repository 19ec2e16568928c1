"""One error shape, pinned over every error path we can reach (after Datasette's test).

REST: each status the API documents answers ``{"error": message, ...}`` as JSON, what
ever refused it (a route, a service, the request guard, the body limit, FastAPI's
parameter checks, Starlette's routing). WebSocket: each error frame is exactly
``{"type": "error", "code": 4000-4003, "error": ..., "message": ...}`` and every frame a
socket receives is one of the documented frames and events.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ccsync.api.errors import ErrorBody
from ccsync.server.events import ServerEvent
from ccsync.server.frames import ServerFrame
from ccsync.storage import StorageUnavailableError
from fixtures.payloads import now_entry
from fixtures.server import RunningServer, backend_server

ADMIN = "ccs_admin-token-for-the-error-shape-test"
JSON = {"content-type": "application/json"}
frames = msgspec.json.Decoder(ServerFrame | ServerEvent)


def assert_canonical_error(answer: httpx.Response, status: int) -> dict[str, Any]:
    """``answer`` is a ``status`` error in the one shape."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].split(";")[0] == "application/json"
    body: dict[str, Any] = answer.json()
    assert isinstance(body, dict)
    assert isinstance(body.get("error"), str) and body["error"].strip(), body
    msgspec.convert(body, ErrorBody)  # ``details``, when there, is a list
    return body


def assert_canonical_frame(frame: dict[str, Any], code: int) -> None:
    assert set(frame) == {"type", "code", "error", "message"}, frame
    assert frame["type"] == "error" and frame["code"] == code, frame
    assert isinstance(frame["error"], str) and frame["error"].strip()
    assert isinstance(frame["message"], str) and frame["message"].strip()


@asynccontextmanager
async def token_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[RunningServer]:
    """A server that needs tokens, with tight limits (so each refusal is cheap to reach)."""
    async with backend_server(
        request,
        "memory+sqlite",
        tmp_path,
        admin_token=ADMIN,
        max_body_bytes=64 * 1024,
        live_max_value_bytes=1024,
        push_rate=0.01,
        push_burst=2,
        new_devices_per_hour=3,
    ) as running:
        yield running


async def _device_token(http: httpx.AsyncClient, device: str) -> str:
    made = await http.post("/api/tokens", json={"deviceId": device})
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


async def test_every_rest_error_has_the_one_shape(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with AsyncExitStack() as stack:
        running = await stack.enter_async_context(token_server(request, tmp_path))
        anonymous = await stack.enter_async_context(running.client())
        stranger = await stack.enter_async_context(running.client("ccs_wrong"))
        admin = await stack.enter_async_context(running.client(ADMIN))
        token = await _device_token(admin, "laptop")
        laptop = await stack.enter_async_context(running.client(token))
        now = int(time.time() * 1000)
        entry = now_entry(now, 1)
        cases: list[tuple[int, httpx.AsyncClient, str, str, dict[str, Any]]] = [
            # 400: malformed or impossible input
            (400, admin, "POST", "/api/metrics/k", {"content": b"{x", "headers": JSON}),
            (400, admin, "POST", "/api/usage/laptop", {"content": b"", "headers": JSON}),
            (400, admin, "POST", "/api/usage/sync", {"json": {"tokens": 1}}),
            (400, admin, "GET", "/api/reports/daily", {"params": {"since": "20261399"}}),
            (400, admin, "GET", "/api/reports/daily", {"params": {"timezone": "Mars/Base"}}),
            (400, admin, "POST", "/api/cron", {"json": {"name": "x", "schedule": "bad"}}),
            (400, admin, "PUT", "/api/config/redis", {"json": {"url": "redis://127.0.0.1:1/0"}}),
            (400, admin, "POST", "/v1/metrics", {"content": b"{x", "headers": JSON}),
            # 401: no token, or not one
            (401, anonymous, "GET", "/api/usage", {}),
            (401, anonymous, "GET", "/openapi.json", {}),
            (401, stranger, "GET", "/api/window", {}),
            (401, anonymous, "POST", "/v1/logs", {"json": {}}),  # a google.rpc.Status too
            # 403: not this token's, or the server's
            (403, laptop, "POST", "/api/usage/desk", {"json": {"tokens": 1}}),
            (403, laptop, "GET", "/api/tokens", {}),
            (403, laptop, "GET", "/api/usage/desk/mark", {"params": {"stream": "s"}}),
            (403, admin, "POST", "/api/metrics/device:x", {"json": {}}),
            (
                403,
                admin,
                "POST",
                "/api/tokens",
                {"json": {}, "headers": {"Origin": "https://evil.example"}},
            ),
            # 404: unknown things and routes
            (404, admin, "GET", "/api/usage/nobody", {}),
            (404, admin, "GET", "/api/cron/nojob", {}),
            (404, admin, "POST", "/api/cron/nojob/execute", {}),
            (404, admin, "DELETE", "/api/tokens/abcdef", {}),
            (404, admin, "DELETE", "/api/metrics/never", {}),
            (404, admin, "GET", "/api/reports/daily", {"params": {"device": "nobody"}}),
            (404, admin, "GET", "/api/nothing-here", {}),
            (405, admin, "PATCH", "/api/window", {}),
            # 409: not how this server runs
            (409, admin, "POST", "/api/usage/ccusage", {}),
            # 413: too large a body, too large a value
            (
                413,
                admin,
                "POST",
                "/api/metrics/big",
                {"content": b"[" + b"1," * 40_000 + b"1]", "headers": JSON},
            ),
            (413, admin, "POST", "/api/metrics/big", {"json": {"v": "x" * 2000}}),
            (
                413,
                admin,
                "POST",
                "/v1/logs",
                {"content": b"[" + b"1," * 40_000 + b"1]", "headers": JSON},
            ),
            # 415: a mutation that is not JSON
            (
                415,
                admin,
                "POST",
                "/api/metrics/k",
                {"content": b"a=1", "headers": {"content-type": "text/plain"}},
            ),
            # 421: a name this server does not answer to
            (421, admin, "GET", "/api/window", {"headers": {"Host": "evil.example"}}),
            (421, admin, "POST", "/v1/logs", {"json": {}, "headers": {"Host": "evil.example"}}),
            # 422: well-formed, not valid
            (422, admin, "PUT", "/api/config", {"json": {"colour": "blue"}}),
            (422, admin, "PUT", "/api/config", {"json": {"timezone": "Mars/Base"}}),
            (422, admin, "PUT", "/api/config/redis", {"json": {"port": 1}}),
            (422, admin, "POST", "/api/tokens", {"json": {"kind": "device"}}),
            (422, admin, "POST", "/api/usage/laptop", {"json": {"tokens": 1, "entries": []}}),
            (422, admin, "GET", "/api/metrics/no%20spaces", {}),
            (422, admin, "GET", "/api/reports/yearly", {}),
            (422, admin, "POST", "/api/metrics/nan", {"content": b'{"v": NaN}', "headers": JSON}),
            (
                422,
                admin,
                "POST",
                "/api/limits/laptop",
                {"json": {"five_hour": {"used_percentage": 1, "resets_at": 1}}},
            ),
        ]
        for status, client, method, path, options in cases:
            answer = await client.request(method, path, **options)
            try:
                assert_canonical_error(answer, status)
            except AssertionError as exc:
                raise AssertionError(f"{method} {path}: {exc}") from None
        # 429: pushes too fast for one device, and too many new devices from one address
        pushes = [
            await laptop.post("/api/usage/laptop", json={"entries": [entry]}) for _ in range(3)
        ]
        limited = assert_canonical_error(pushes[-1], 429)
        assert limited["retryAfter"] > 0 and int(pushes[-1].headers["Retry-After"]) >= 1
        made = [await admin.post(f"/api/usage/new{n}", json={"tokens": 1}) for n in range(4)]
        assert_canonical_error(made[-1], 429)

        # 503: a backend that does not answer
        async def down() -> None:
            raise StorageUnavailableError("history store at sqlite:///… is unavailable")

        monkeypatch.setattr(running.services.history, "ping", down)
        health = assert_canonical_error(await anonymous.get("/health"), 503)
        assert health["status"] == "ERROR" and health["checks"]["live"] == "ok"


async def _frames_until(
    ws: ClientConnection, count: int, timeout: float = 5
) -> list[dict[str, Any]]:
    """The next ``count`` frames, each checked to be a documented frame or event."""
    received = []
    for _ in range(count):
        raw = await asyncio.wait_for(ws.recv(), timeout)
        assert isinstance(raw, str)
        frames.decode(raw)  # a documented frame or event, or this raises
        received.append(json.loads(raw))
    return received


async def _next(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next frame of type ``kind`` (others, events among them, skipped)."""
    while True:
        (frame,) = await _frames_until(ws, 1)
        if frame["type"] == kind:
            return frame


async def _error(ws: ClientConnection, sent: str | bytes) -> dict[str, Any]:
    """Send ``sent``; the first error frame that comes back."""
    await ws.send(sent)
    return await _next(ws, "error")


async def test_every_websocket_error_has_the_one_shape(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    async with token_server(request, tmp_path) as running, running.client(ADMIN) as admin:
        laptop = await _device_token(admin, "laptop")
        # 4002: no valid token; the socket is closed with the same code
        async with connect(running.ws_url) as ws:
            assert_canonical_frame((await _frames_until(ws, 1))[0], 4002)
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4002
        headers = {"Authorization": f"Bearer {laptop}"}
        async with connect(f"{running.ws_url}?deviceId=laptop", additional_headers=headers) as ws:
            assert (await _frames_until(ws, 1))[0]["type"] == "initial-data"
            await _next(ws, "welcome")
            entry = now_entry(int(time.time() * 1000), 1)
            invalid = [
                "not json",
                b"\x00binary",
                json.dumps(["a list"]),
                json.dumps({"type": 7}),
                json.dumps({"type": "get-live-data"}),
                json.dumps({"type": "subscribe", "channel": "nope"}),
                json.dumps({"type": "usage_update", "deviceId": "sync", "tokens": 1}),
                json.dumps({"type": "usage_update", "tokens": 1, "entries": []}),
                '{"type": "hello", "deviceId": "laptop", "name": "x\\ud800"}',
            ]
            for sent in invalid:
                frame = await _error(ws, sent)
                assert_canonical_frame(frame, 4000)
                assert frame["error"] == frame["message"]
            unknown = await _error(ws, json.dumps({"type": "teleport"}))
            assert_canonical_frame(unknown, 4000)
            assert unknown["error"] == "Unknown message type"
            assert unknown["message"] == "Unknown message type: teleport"
            for other in (
                {"type": "usage_update", "deviceId": "desk", "tokens": 1},
                {"type": "hello", "deviceId": "desk"},
            ):
                assert_canonical_frame(await _error(ws, json.dumps(other)), 4001)
            push = {"type": "usage_update", "deviceId": "laptop", "entries": [entry]}
            limited = None
            for _ in range(4):  # a burst of 2, then too many pushes: processing failed
                await ws.send(json.dumps(push))
                while True:
                    (frame,) = await _frames_until(ws, 1)
                    if frame["type"] in ("sync_response", "error"):
                        break
                if frame["type"] == "error":
                    limited = frame
                    break
            assert limited is not None
            assert_canonical_frame(limited, 4003)
            # the socket stayed open through all of it
            await ws.send(json.dumps({"type": "ping"}))
            await _next(ws, "pong")
            # 4002 again: the token revoked while the socket is open
            tokens = (await admin.get("/api/tokens")).json()["tokens"]
            laptop_id = next(t["id"] for t in tokens if t["deviceId"] == "laptop")
            assert (await admin.delete(f"/api/tokens/{laptop_id}")).status_code == 200
            assert_canonical_frame(await _next(ws, "error"), 4002)
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4002
