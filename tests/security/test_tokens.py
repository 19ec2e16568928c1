"""Tokens and devices (hostile review findings A6, A8, C9, E4): revocation cuts open sockets
on every replica, a device token keeps to its device's account, one rule for device ids on
REST and WebSocket, and a bound on the devices one client registers."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from fixtures.payloads import now_entry
from fixtures.server import RunningServer, backend_server

ADMIN = "ccs_admin-token-for-token-tests"


async def _device_token(server: RunningServer, device: str, **extra: Any) -> dict[str, Any]:
    async with server.client(ADMIN) as admin:
        made = await admin.post("/api/tokens", json={"deviceId": device, **extra})
        assert made.status_code == 201, made.text
        answer: dict[str, Any] = made.json()
        return answer


BROADCASTS = {"device_connected", "device_disconnected", "token_usage_update", "live-data-update"}


async def _answer(ws: ClientConnection) -> dict[str, Any]:
    """The next frame that answers this client (broadcast events skipped)."""
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
        if frame["type"] not in BROADCASTS:
            return frame


async def _closed_within(ws: ClientConnection, seconds: float) -> tuple[list[dict[str, Any]], int]:
    """The frames a socket still got, and its close code, waiting at most ``seconds``."""
    frames = []
    deadline = time.monotonic() + seconds
    try:
        while True:
            left = deadline - time.monotonic()
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=max(left, 0.01))))
    except ConnectionClosed as closed:
        return frames, closed.rcvd.code if closed.rcvd is not None else -1


@pytest.mark.parametrize("backends", ["memory+sqlite", "redis+postgresql"])
async def test_revoking_a_token_cuts_its_open_sockets(
    tmp_path: Path, request: pytest.FixtureRequest, backends: str
) -> None:
    """A8: a socket opened before the revocation is closed at once (4002), on the replica
    that revoked it and on the others."""
    if backends == "redis+postgresql":
        request.applymarker(pytest.mark.services)
    async with (
        backend_server(request, backends, tmp_path / "a", admin_token=ADMIN) as a,
        backend_server(request, backends, tmp_path / "b", admin_token=ADMIN) as b,
    ):
        replicas = [a, b] if backends == "redis+postgresql" else [a]
        token = await _device_token(a, "laptop")
        sockets = [
            await connect(
                f"{r.ws_url}?deviceId=laptop",
                additional_headers={"Authorization": f"Bearer {token['token']}"},
            )
            for r in replicas
        ]
        other = await connect(a.ws_url, additional_headers={"Authorization": f"Bearer {ADMIN}"})
        try:
            for ws in [*sockets, other]:
                assert (await _answer(ws))["type"] == "initial-data"
            async with a.client(ADMIN) as admin:
                assert (await admin.delete(f"/api/tokens/{token['id']}")).status_code == 200
            for ws in sockets:
                frames, code = await _closed_within(ws, 2.0)
                assert code == 4002
                revoked = "the token was revoked"
                assert {
                    "type": "error",
                    "code": 4002,
                    "error": revoked,
                    "message": revoked,
                } in frames
            # The admin's socket is untouched.
            await other.send('{"type":"ping"}')
            while (await _answer(other))["type"] != "pong":
                pass
        finally:
            for ws in [*sockets, other]:
                await ws.close()


async def test_a_device_token_keeps_to_its_account(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A6: a device token cannot move its device to another account (which made
    ``/api/window`` answer 400 "several accounts" for everyone)."""
    now = int(time.time() * 1000)
    async with backend_server(request, "memory+sqlite", tmp_path, admin_token=ADMIN) as running:
        token = (await _device_token(running, "laptop"))["token"]
        async with running.client(token) as device:
            first = await device.post(
                "/api/usage/laptop", json={"entries": [now_entry(now, 1)], "account": "acct-1"}
            )
            assert first.status_code == 200 and first.json()["account"] == "acct-1"
            evil = await device.post(
                "/api/usage/laptop", json={"entries": [now_entry(now, 2)], "account": "evilacct"}
            )
            assert evil.status_code == 403 and "acct-1" in evil.json()["error"]
            limits = await device.post(
                "/api/limits/laptop",
                json={"five_hour": {"used_percentage": 1}, "account": "evilacct"},
            )
            assert limits.status_code == 403
            assert (await device.get("/api/window")).status_code == 200
            url = f"{running.ws_url}?deviceId=laptop"
            async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
                assert (await _answer(ws))["type"] == "initial-data"
                assert (await _answer(ws))["type"] == "welcome"
                await ws.send(json.dumps({"type": "hello", "deviceId": "laptop", "account": "x"}))
                refused = await _answer(ws)
                assert refused["code"] == 4001 and "acct-1" in refused["message"]
                await ws.send(
                    json.dumps({"type": "usage_update", "tokens": 1, "account": "evilacct"})
                )
                assert (await _answer(ws))["code"] == 4001
        async with running.client(ADMIN) as admin:
            assert (await admin.get("/api/window")).json()["account"] == "acct-1"
            # The admin may move a device: a token made for another account binds it there.
            await admin.post("/api/tokens", json={"deviceId": "laptop", "account": "acct-2"})
            assert (await admin.get("/api/usage/laptop")).json()["account"] == "acct-2"
        # A token made with an account binds its device before its first push.
        bound = (await _device_token(running, "desk", account="acct-2"))["token"]
        async with running.client(bound) as device:
            wrong = await device.post("/api/usage/desk", json={"tokens": 1, "account": "acct-1"})
            assert wrong.status_code == 403


async def test_device_ids_follow_one_rule_everywhere(server: RunningServer) -> None:
    """C9: ``sync`` (and ``ccusage``) are reserved over REST and over the WebSocket alike."""
    async with server.client() as http:
        # POST /api/usage/ccusage is the host's own sync; /api/usage/sync takes PUT.
        assert (await http.post("/api/usage/sync", json={"tokens": 1})).status_code == 400
        for name in ("sync", "ccusage"):
            limits = await http.post(
                f"/api/limits/{name}", json={"five_hour": {"used_percentage": 1}}
            )
            assert limits.status_code == 400 and "reserved" in limits.json()["error"]
    async with connect(server.ws_url) as ws:
        await ws.recv()
        for message in (
            {"type": "usage_update", "deviceId": "sync", "tokens": 1},
            {"type": "hello", "deviceId": "ccusage"},
            {"type": "usage_update", "deviceId": "bad id", "tokens": 1},
            {"type": "usage_update", "deviceId": "x" * 129, "tokens": 1},
        ):
            await ws.send(json.dumps(message))
            answer = await _answer(ws)
            assert answer["type"] == "error" and answer["code"] == 4000, message
    async with server.client() as http:
        assert (await http.get("/api/usage/sync")).status_code in (404, 405)
        devices = (await http.get("/api/usage")).json()["devices"]
        assert not {d["deviceId"] for d in devices} & {"sync", "ccusage"}


async def test_one_client_registers_a_bounded_number_of_devices(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """E4: in local mode any id registers a device; one address gets ``new_devices_per_hour``."""
    async with backend_server(
        request, "memory+sqlite", tmp_path, new_devices_per_hour=5
    ) as running:
        async with running.client() as http:
            codes = [
                (await http.post(f"/api/usage/d{n}", json={"tokens": 1})).status_code
                for n in range(5)
            ]
            assert codes == [200] * 5
            refused = await http.post("/api/usage/d5", json={"tokens": 1})
            assert refused.status_code == 429 and "new devices" in refused.json()["error"]
            assert int(refused.headers["retry-after"]) >= 1
            # Known devices keep pushing.
            assert (await http.post("/api/usage/d0", json={"tokens": 2})).status_code == 200
        async with connect(running.ws_url) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "hello", "deviceId": "d6"}))
            answer = await _answer(ws)
            assert answer["code"] == 4003 and "new devices" in answer["message"]
        async with running.client() as http:
            assert len((await http.get("/api/usage")).json()["devices"]) == 5
