"""Tokens off local mode, what each token may do, tokens hashed at rest."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from fixtures.payloads import now_entry
from fixtures.server import backend_server, free_port

ADMIN = "ccs_admin-token-for-tests"


async def test_tokens_are_required_and_scoped(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with backend_server(request, "memory+sqlite", tmp_path, admin_token=ADMIN) as running:
        async with running.client() as anonymous:
            assert (await anonymous.get("/health")).status_code == 200
            for method, path in (
                ("GET", "/api/status"),
                ("GET", "/api/metrics"),
                ("POST", "/api/usage/x"),
                ("GET", "/metrics"),
            ):
                response = await anonymous.request(method, path)
                assert response.status_code == 401 and response.json()["error"].startswith(
                    "authentication required"
                )
        async with running.client("wrong") as stranger:
            assert (await stranger.get("/api/status")).status_code == 401
        async with running.client(ADMIN) as admin:
            assert (await admin.get("/api/status")).json()["mode"] == "token"
            device_token = (await admin.post("/api/tokens", json={"deviceId": "laptop"})).json()
        now = int(time.time() * 1000)
        async with running.client(device_token["token"]) as device:
            own = await device.post("/api/usage/laptop", json={"entries": [now_entry(now, 1)]})
            assert own.status_code == 200 and own.json()["accepted"] == 1
            other = await device.post("/api/usage/desktop", json={"entries": [now_entry(now, 2)]})
            assert other.status_code == 403
            assert (await device.get("/api/window")).status_code == 200  # devices may read
            assert (await device.get("/api/cron")).json() == {"jobs": []}
            for method, path, body in (
                ("GET", "/api/tokens", None),
                ("POST", "/api/tokens", {"deviceId": "evil"}),
                ("PUT", "/api/config", {"timezone": "UTC"}),
                ("GET", "/api/config/redis", None),
                ("POST", "/api/cron", {"name": "x", "schedule": "* * * * *", "command": "ccusage"}),
                ("PUT", "/api/cron/abc", {"enabled": True}),
                ("DELETE", "/api/cron/abc", None),
                ("POST", "/api/cron/abc/execute", None),
                ("POST", "/api/cron/jobs/abc/enable", None),
            ):
                assert (await device.request(method, path, json=body)).status_code == 403, path
        async with running.client(ADMIN) as admin:
            await admin.delete(f"/api/tokens/{device_token['id']}")
        async with running.client(device_token["token"]) as revoked:
            assert (await revoked.get("/api/window")).status_code == 401
        stored = await running.services.history.tokens.list_tokens()
        assert stored[0].token_hash != device_token["token"] and len(stored[0].token_hash) == 64
        database = (running.settings.data_dir / "ccsync.db").read_bytes()
        wal = running.settings.data_dir / "ccsync.db-wal"
        everything = database + (wal.read_bytes() if wal.exists() else b"")
        assert device_token["token"].encode() not in everything


async def test_websocket_tokens(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    async with backend_server(request, "memory+sqlite", tmp_path, admin_token=ADMIN) as running:
        url = "ws" + running.url.removeprefix("http") + "/ws"
        async with connect(url) as ws:
            error = json.loads(await ws.recv())
            assert error["code"] == 4002
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4002
        async with running.client(ADMIN) as admin:
            device_token = (await admin.post("/api/tokens", json={"deviceId": "laptop"})).json()[
                "token"
            ]
        async with connect(f"{url}?token={device_token}") as ws:
            assert json.loads(await ws.recv())["type"] == "initial-data"
            await ws.send(json.dumps({"type": "usage_update", "deviceId": "desktop", "tokens": 1}))
            assert json.loads(await ws.recv())["code"] == 4001
            await ws.send(json.dumps({"type": "usage_update", "deviceId": "laptop", "tokens": 1}))
            assert json.loads(await ws.recv())["type"] == "sync_response"
        async with connect(url, additional_headers={"Authorization": f"Bearer {ADMIN}"}) as ws:
            assert json.loads(await ws.recv())["type"] == "initial-data"


async def test_huge_bodies_are_refused(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    async with (
        backend_server(request, "memory+sqlite", tmp_path, max_body_bytes=64 * 1024) as running,
        running.client() as http,
    ):
        big = b'{"tokens": 1, "pad": "' + b"x" * 200_000 + b'"}'
        declared = await http.post(
            "/api/usage/d", content=big, headers={"content-type": "application/json"}
        )
        assert declared.status_code == 413 and "larger than" in declared.json()["error"]

        async def chunks():  # no Content-Length: the limit still holds while reading
            for _ in range(10):
                yield b"x" * 20_000

        streamed = await http.post(
            "/api/usage/d", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413


async def test_push_rate_is_limited(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    async with (
        backend_server(request, "memory+sqlite", tmp_path, push_rate=1.0, push_burst=2) as running,
        running.client() as http,
    ):
        codes = [
            (await http.post("/api/usage/fast", json={"tokens": n})).status_code for n in range(4)
        ]
        assert codes[:2] == [200, 200] and 429 in codes[2:]
        limited = await http.post("/api/usage/fast", json={"tokens": 9})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_off_loopback_makes_an_admin_token_once(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CCSYNC_DATA_DIR": str(tmp_path), "HOST": "0.0.0.0", "PORT": str(port)}
    env.pop("CCSYNC_ADMIN_TOKEN", None)
    argv = [sys.executable, "-m", "ccsync", "serve", "--no-local-agent"]
    first = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    try:
        _wait_healthy(port)
        token_file = tmp_path / "admin-token"
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert httpx.get(f"http://127.0.0.1:{port}/api/status").status_code == 401
        assert (
            httpx.get(
                f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"Bearer {token}"}
            ).status_code
            == 200
        )
    finally:
        first.terminate()
        _, stderr = first.communicate(timeout=20)
    assert token in stderr
    second = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    try:
        _wait_healthy(port)
    finally:
        second.terminate()
        _, stderr = second.communicate(timeout=20)
    assert token not in stderr
    assert first.returncode in (0, -15)  # uvicorn re-raises SIGTERM after a graceful stop


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the server did not become healthy")


def test_secrets_never_reach_the_log(tmp_path: Path) -> None:
    """Access lines name each request's path: a ``?token=`` in it is masked."""
    port = free_port()
    secret = "ccs_admin-0123456789abcdef"
    env = {
        **os.environ,
        "CCSYNC_DATA_DIR": str(tmp_path),
        "PORT": str(port),
        "CCSYNC_ADMIN_TOKEN": secret,
        "REDIS_URL": "redis://:hunter2-redis@127.0.0.1:1/0",
    }
    env.pop("DATABASE_URL", None)
    argv = [sys.executable, "-m", "ccsync", "serve", "--no-local-agent", "--log-level", "info"]
    unreachable = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert unreachable.returncode == 1 and "hunter2" not in unreachable.stderr
    env.pop("REDIS_URL")
    server = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    try:
        _wait_healthy(port)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/status", params={"token": secret}).status_code == 401
        headers = {"Authorization": f"Bearer {secret}"}
        assert httpx.get(f"{base}/api/window?token={secret}", headers=headers).status_code == 200

        async def websocket() -> None:
            async with connect(f"ws://127.0.0.1:{port}/ws?deviceId=d&token={secret}") as ws:
                assert json.loads(await ws.recv())["type"] == "initial-data"

        asyncio.run(websocket())
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=20)
    assert secret not in stderr
    assert 'GET /api/window?token=*** HTTP/1.1" 200' in stderr
    assert "/ws?deviceId=d&token=***" in stderr
    assert "setup plugin alembic" not in stderr
