"""What a local process or a hostile server can learn or cause (hostile review findings A9,
A10, A11, E6), and the suite's own hermetic rule."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from ccsync.agent.transport import DeliveryError, Identity, SocketLink
from fixtures.processes import agent_once, base_env
from fixtures.server import free_port

SECRET = "ccs_debug-token-0123456789abcdefXYZ"


def _serve(data_dir: Path, port: int, *extra: str, **env: str) -> subprocess.Popen[str]:
    """``ccsync serve``; its log goes to ``<data_dir>.log`` (a pipe left unread would fill)."""
    argv = [sys.executable, "-m", "ccsync", "serve", "--no-local-agent", "--port", str(port)]
    log = open(f"{data_dir}.log", "w")  # noqa: SIM115 (the child holds it)
    with log:
        return subprocess.Popen(
            [*argv, *extra],
            env=base_env(data_dir.parent, CCSYNC_DATA_DIR=str(data_dir), **env),
            stderr=log,
            text=True,
        )


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the server did not become healthy")


def test_tokens_never_reach_the_log_however_spelled(tmp_path: Path) -> None:
    """A9, A10: ``?%74oken=`` authenticates like ``?token=``, and at debug level the
    WebSocket library prints each handshake's headers: the token shows in neither."""
    port = free_port()
    server = _serve(tmp_path, port, "--log-level", "debug", CCSYNC_ADMIN_TOKEN=SECRET)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(port)
        assert (
            httpx.get(f"{base}/api/window?%74oken={SECRET}").status_code == 401
        )  # REST: header only
        assert httpx.get(f"{base}/api/window?TOKEN={SECRET}&x=1").status_code == 401
        ok = httpx.get(f"{base}/api/window", headers={"Authorization": f"Bearer {SECRET}"})
        assert ok.status_code == 200

        async def sockets() -> None:
            for url, headers in (
                (f"ws://127.0.0.1:{port}/ws?%74oken={SECRET}", {}),
                (f"ws://127.0.0.1:{port}/ws", {"Authorization": f"Bearer {SECRET}"}),
            ):
                async with connect(url, additional_headers=headers) as ws:
                    assert json.loads(await ws.recv())["type"] == "initial-data"

        asyncio.run(sockets())
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    stderr = Path(f"{tmp_path}.log").read_text()
    assert SECRET not in stderr and SECRET[4:] not in stderr
    assert "%74oken=***" in stderr  # the access line is there, masked
    assert "debug" in stderr.lower()  # debug lines were written (and masked)


def test_data_and_state_files_are_private(tmp_path: Path) -> None:
    """A11: the history database (and its WAL), the admin token, the agent's state: 0600 in
    0700 folders, also when an older version left them open."""
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "ccsync.db").touch(mode=0o644)
    os.chmod(data, 0o755)
    os.chmod(data / "ccsync.db", 0o644)
    port = free_port()
    server = _serve(data, port, HOST="0.0.0.0")
    try:
        _wait_healthy(port)
        state = tmp_path / "state"
        home = tmp_path / "home"
        (home / ".claude" / "projects" / "p").mkdir(parents=True)
        (home / ".claude" / "projects" / "p" / "s.jsonl").write_text("{}\n")
        token = (data / "admin-token").read_text().strip()
        made = httpx.post(
            f"http://127.0.0.1:{port}/api/tokens",
            json={"deviceId": "laptop"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()["token"]
        pushed = agent_once(
            home / ".claude", "laptop", f"http://127.0.0.1:{port}", state, "--token", made
        )
        assert pushed.returncode == 0, pushed.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=20)
    for folder in (data, state):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    files = [data / "ccsync.db", data / "admin-token", state / "agent.db"]
    files += [p for p in (data / "ccsync.db-wal", state / "agent.db-wal") if p.exists()]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


async def test_the_agent_refuses_huge_frames_from_a_hostile_server() -> None:
    """E6: the agent's socket had no frame limit: a 300 MB frame took it to 532 MB RSS."""
    closed: list[int | None] = []

    async def hostile(ws: ServerConnection) -> None:
        await ws.recv()  # hello
        try:
            await ws.send("x" * (17 * 1024 * 1024))
            await ws.wait_closed()
        finally:
            closed.append(ws.close_code)

    async with serve(hostile, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        link = SocketLink(
            f"http://127.0.0.1:{port}", None, Identity("laptop", "default", "host"), lambda: None
        )
        await link.open()
        with pytest.raises(DeliveryError):
            await asyncio.wait_for(link.serve(), timeout=20)
    assert closed == [1009]  # "message too big"


def test_tests_reach_no_server_they_did_not_start() -> None:
    """The suite's rule: a default configuration finds no server and no real Claude data."""
    from ccsync.agent.config import load_config

    config = load_config()
    with pytest.raises(httpx.ConnectError):
        httpx.get(config.server + "/health", timeout=2)
    assert Path.home() != Path(pwd.getpwuid(os.getuid()).pw_dir)  # a temporary HOME
    assert not (Path.home() / ".claude").exists()
