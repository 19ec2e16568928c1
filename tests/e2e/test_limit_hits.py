"""A real limit-hit line, end to end: real agents (one-shot, following, offline first) and
the server's own host agent give the server the window's official reset.

The transcripts are the real Claude Code 2.1.332 captures (``tests/golden/claude-2.1.332``)
moved forward in time, every ``timestamp`` and ``resetsAt`` by the same whole number of
seconds: a reading whose reset has passed is worthless (it is not sent), and the captures'
resets passed hours after they were made.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from ccsync.agent.refresh import refresh
from ccsync.agent.statusline import LIMITS_FILE, write_json
from ccsync.usage.timestamps import iso_millis
from fixtures.processes import ServerProcess, agent_once, agent_process, server_process, wait_for
from fixtures.server import backend_server

CAPTURES = Path(__file__).parents[1] / "golden" / "claude-2.1.332" / "projects" / "-home-user-work"
LIMIT_HIT = CAPTURES / "78ffeb75-fa83-4667-8e13-6af7cbf818d7.jsonl"
"""A ``claude -p`` refused by the 5-hour limit: its line says ``resetsAt`` 1795942055,
written at 2026-11-29T07:47:35.655Z."""
RESETS_AT = 1_795_942_055
HIT_AT = 1_795_938_455.655
ANSWERED = CAPTURES / "428ba4af-fe79-4374-b561-3ed731160491.jsonl"
"""A run that was answered (one usage line)."""
_TIMESTAMP = re.compile(r'"timestamp":"([^"]+)"')
_RESETS_AT = re.compile(r'"resetsAt":(\d+)')


def shifted(source: Path, target: Path, seconds: int) -> None:
    """``source`` as if written ``seconds`` later (every ``timestamp`` and ``resetsAt``)."""

    def moved(match: re.Match[str]) -> str:
        when = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        later = (when + timedelta(seconds=seconds)).astimezone(UTC)
        return f'"timestamp":"{later.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]}Z"'

    text = _TIMESTAMP.sub(moved, source.read_text())
    text = _RESETS_AT.sub(lambda m: f'"resetsAt":{int(m.group(1)) + seconds}', text)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def device_with_a_limit_hit(root: Path, minutes_ago: float = 5) -> int:
    """A Claude data dir whose limit-hit line was written ``minutes_ago``; its reset, moved."""
    shift = int(time.time() - minutes_ago * 60 - HIT_AT)
    shifted(LIMIT_HIT, root / "projects" / "-home-user-work" / LIMIT_HIT.name, shift)
    return RESETS_AT + shift


def official(url: str) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(f"{url}/api/window", timeout=10).json()["official"]
    return found


def test_a_real_limit_hit_line_gives_the_server_its_official_five_hour_reset(
    tmp_path: Path,
) -> None:
    """Done when: a transcript with a real limit-hit line, pushed by a real ``ccsync agent
    --once``, gives the server an official five-hour reset equal to its ``resetsAt``."""
    device = tmp_path / "laptop"
    resets_at = device_with_a_limit_hit(device)
    (transcript,) = (device / "projects").rglob("*.jsonl")
    line = next(raw for raw in transcript.read_text().splitlines() if '"quotaLimits"' in raw)
    assert json.loads(line)["quotaLimits"]["resetsAt"] == resets_at
    with server_process(tmp_path / "server") as server:
        done = agent_once(device, "laptop", server.url, tmp_path / "state")
        assert done.returncode == 0, done.stderr
        assert "1 official limit reading sent" in done.stderr
        five = official(server.url)["fiveHour"]
        assert five["resetsAt"] == iso_millis(resets_at * 1000)
        assert five["usedPercentage"] == 100
        assert five["source"] == "transcript" and five["deviceId"] == "laptop"
        assert five["observedAt"] == json.loads(line)["timestamp"]
        assert server.entries() == 0  # the line is no usage entry (ccusage drops it too)
        again = agent_once(device, "laptop", server.url, tmp_path / "state")
        assert again.returncode == 0 and "official" not in again.stderr  # sent once


def test_an_offline_agent_sends_the_reading_later(tmp_path: Path) -> None:
    device = tmp_path / "laptop"
    resets_at = device_with_a_limit_hit(device)
    shifted(ANSWERED, device / "projects" / "-home-user-work" / ANSWERED.name, 0)
    server = ServerProcess(tmp_path / "server")  # its port, before it runs
    offline = agent_once(device, "laptop", server.url, tmp_path / "state")
    assert offline.returncode == 1
    assert "1 limit reading waiting" in offline.stderr and "1 waiting" in offline.stderr
    server.start()
    try:
        done = agent_once(device, "laptop", server.url, tmp_path / "state")
        assert done.returncode == 0, done.stderr
        assert "1 official limit reading sent" in done.stderr
        assert official(server.url)["fiveHour"]["resetsAt"] == iso_millis(resets_at * 1000)
        assert server.entries() == 1
    finally:
        server.stop()


def test_a_reading_whose_reset_passed_is_not_sent(tmp_path: Path) -> None:
    device = tmp_path / "laptop"
    device_with_a_limit_hit(device, minutes_ago=24 * 60)  # its window reset long ago
    with server_process(tmp_path / "server") as server:
        done = agent_once(device, "laptop", server.url, tmp_path / "state")
        assert done.returncode == 0, done.stderr
        assert "official" not in done.stderr and "reading waiting" not in done.stderr
        assert official(server.url) == {}


def test_a_following_agent_sends_a_limit_hit_as_claude_code_writes_it(tmp_path: Path) -> None:
    device = tmp_path / "laptop"
    staging = tmp_path / "staging"
    resets_at = device_with_a_limit_hit(staging, minutes_ago=1)
    written = next((staging / "projects").rglob("*.jsonl"))
    lines = written.read_text().splitlines(keepends=True)
    hit = next(i for i, line in enumerate(lines) if '"quotaLimits"' in line)
    transcript = device / "projects" / "-home-user-work" / written.name
    transcript.parent.mkdir(parents=True)
    transcript.write_text("".join(lines[:hit]))
    with (
        server_process(tmp_path / "server") as server,
        agent_process(device, "laptop", server.url, tmp_path / "state"),
    ):
        wait_for(lambda: httpx.get(f"{server.url}/api/usage", timeout=5).json()["devices"])
        assert official(server.url) == {}
        with transcript.open("a") as handle:
            handle.write("".join(lines[hit:]))
        wait_for(lambda: "fiveHour" in official(server.url), timeout=60)
        assert official(server.url)["fiveHour"]["resetsAt"] == iso_millis(resets_at * 1000)


async def test_the_servers_host_agent_hands_readings_to_ingest(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    host = tmp_path / "host"
    resets_at = device_with_a_limit_hit(host)
    shutil.copy(ANSWERED, host / "projects" / "-home-user-work" / ANSWERED.name)
    running = backend_server(
        request, "memory+sqlite", tmp_path, local_agent=True, claude_dirs=(str(host),)
    )
    async with running as server, server.client() as http:
        assert (await http.post("/api/usage/ccusage")).json()["success"] is True
        five = (await http.get("/api/window")).json()["official"]["fiveHour"]
        assert five["resetsAt"] == iso_millis(resets_at * 1000)
        assert five["source"] == "transcript" and five["usedPercentage"] == 100


class _OldLimit(msgspec.Struct, forbid_unknown_fields=True):
    used_percentage: float
    resets_at: float | None = None


class _OldLimits(msgspec.Struct, forbid_unknown_fields=True):
    """``RateLimits`` as servers before readings said their source took it."""

    five_hour: _OldLimit | None = None
    seven_day: _OldLimit | None = None
    account: str | None = None


@contextmanager
def older_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A server of the version before: it refuses fields it does not know with a 422, and
    keeps the limits it took."""
    taken: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.startswith("/api/window"):
                self.answer(200, {"active": False, "tokens": 0, "official": {}})
            else:
                self.answer(404, {"error": "not found"})  # no history id: an older server

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"] or 0))
            if not self.path.startswith("/api/limits/"):
                self.answer(404, {"error": "not found"})
                return
            try:
                msgspec.json.decode(body, type=_OldLimits)
            except msgspec.ValidationError as exc:
                self.answer(422, {"error": f"invalid limits: {exc}"})
                return
            taken.append(json.loads(body))
            self.answer(200, {"success": True})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", taken
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_an_older_server_gets_the_readings_in_the_shape_it_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = tmp_path / "laptop"
    resets_at = device_with_a_limit_hit(device)
    with older_server() as (url, taken):
        done = agent_once(device, "laptop", url, tmp_path / "state")
        assert done.returncode == 0, done.stderr
        assert taken == [
            {"five_hour": {"used_percentage": 100.0, "resets_at": resets_at}, "account": "default"}
        ]
        # The status line's refresher too.
        state = tmp_path / "statusline"
        seen = time.time()
        limits = {"five_hour": {"used_percentage": 23.5, "resets_at": resets_at}}
        write_json(state / LIMITS_FILE, {"rate_limits": limits, "at": seen})
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setenv("CCSYNC_SERVER", url)
        monkeypatch.delenv("CCSYNC_TOKEN", raising=False)
        cache = refresh(state)
        assert "error" not in cache and cache["limitsSent"] == seen
        assert taken[-1]["five_hour"] == {"used_percentage": 23.5, "resets_at": resets_at}
