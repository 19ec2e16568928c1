"""Whole server processes: startup on defaults, clear startup errors, replicas on one Redis."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from fixtures.server import free_port


@contextmanager
def serve(tmp_path: Path, name: str, **env: str) -> Iterator[str]:
    port = free_port()
    data = tmp_path / name
    full_env = {
        **os.environ,
        "CCSYNC_DATA_DIR": str(data),
        "PORT": str(port),
        "HOME": str(tmp_path / "home"),
        **env,
    }
    for variable in ("REDIS_URL", "DATABASE_URL", "CCSYNC_ADMIN_TOKEN", "HOST"):
        if variable not in env:
            full_env.pop(variable, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "ccsync", "serve"], env=full_env, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"server {name} exited: {process.stderr.read() if process.stderr else ''}"
                )
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server {name} did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=20)


def run_serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "CCSYNC_DATA_DIR": str(tmp_path / "data"),
        "PORT": str(free_port()),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "ccsync", "serve", "--no-local-agent"],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_defaults(tmp_path: Path) -> None:
    with serve(tmp_path, "plain") as url:
        status = httpx.get(f"{url}/api/status").json()
        assert status["live"]["backend"] == "memory" and status["history"]["backend"] == "sqlite"
        assert status["mode"] == "local" and status["hostAgent"] is not None
    assert (tmp_path / "plain" / "ccsync.db").is_file()


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"REDIS_URL": "redis://:pw-secret@127.0.0.1:1/0"}, "Redis"),
        ({"DATABASE_URL": "postgresql://postgres:pw-secret@127.0.0.1:1/nothing"}, "127.0.0.1:1"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"PORT": "99999"}, "PORT"),
    ],
)
def test_unreachable_backends_stop_startup_with_one_clear_line(
    tmp_path: Path, env: dict[str, str], names: str
) -> None:
    done = run_serve(tmp_path, **env)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert any(names in line for line in lines), done.stderr
    assert "Traceback" not in done.stderr and "pw-secret" not in done.stderr


@pytest.mark.services
async def test_an_event_on_one_replica_reaches_sockets_of_another(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    shared = {"REDIS_URL": redis_url, "CCSYNC_REDIS_PREFIX": redis_prefix}
    with serve(tmp_path, "a", **shared) as a, serve(tmp_path, "b", **shared) as b:
        async with connect("ws" + b.removeprefix("http") + "/ws") as ws:
            assert json.loads(await ws.recv())["type"] == "initial-data"
            started = time.monotonic()
            async with httpx.AsyncClient() as http:
                await http.post(f"{a}/api/metrics/k", json={"from": "a"})
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=1))
                if message["type"] == "live-data-update":
                    break
            assert time.monotonic() - started < 1.0
            assert message["key"] == "k" and message["data"]["from"] == "a"
            assert httpx.get(f"{b}/api/metrics/k").json()["data"]["from"] == "a"
