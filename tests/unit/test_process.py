"""The runner: real processes, argv untouched, timeouts that stop the whole process group."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from ccsync.process import run_process
from fixtures.doubles import Doubles

pytestmark = pytest.mark.timeout(60)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0; it is dead for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait_dead(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


async def test_argv_reaches_the_program_verbatim(doubles: Doubles) -> None:
    prompt = """say "hi"; rm -rf ~ && echo $(whoami) `id` | tee x > y & $HOME *"""
    result = await run_process(
        ["claude", "-p", prompt, "--output-format", "json"], timeout=30, env=doubles.env
    )
    assert result.ok, result.stderr
    assert doubles.calls() == [["-p", prompt, "--output-format", "json"]]
    assert '"type":"result"' in result.stdout


async def test_exit_codes_and_stderr(doubles: Doubles) -> None:
    result = await run_process(
        ["claude", "-p", "x", "--output-format", "stream-json"], timeout=30, env=doubles.env
    )
    assert result.exit_code == 1 and not result.ok
    assert "requires --verbose" in result.stderr


async def test_a_missing_program_is_an_error_not_an_exception(tmp_path: Path) -> None:
    result = await run_process(["claude", "-p", "x"], timeout=5, env={"PATH": str(tmp_path)})
    assert result.exit_code is None and result.error == "claude not found on PATH"


async def test_sigterm_on_timeout(doubles: Doubles) -> None:
    env = {**doubles.env, "CLAUDE_DOUBLE_SLEEP": "30"}
    started = time.monotonic()
    result = await run_process(["claude", "-p", "x"], timeout=0.5, env=env, kill_grace=5)
    assert result.timed_out and result.exit_code == 143  # the documented SIGTERM exit
    assert time.monotonic() - started < 5


async def test_a_group_that_ignores_sigterm_is_killed(doubles: Doubles, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    env = {
        **doubles.env,
        "CLAUDE_DOUBLE_SLEEP": "30",
        "CLAUDE_DOUBLE_IGNORE_TERM": "1",
        "CLAUDE_DOUBLE_CHILD_PIDFILE": str(pidfile),
    }
    started = time.monotonic()
    result = await run_process(["claude", "-p", "x"], timeout=0.5, env=env, kill_grace=0.5)
    assert result.timed_out and result.exit_code == -9
    assert time.monotonic() - started < 5
    child = int(pidfile.read_text())
    assert _wait_dead(child), "the program's own child outlived the timeout"


async def test_cancelling_the_run_stops_the_group(doubles: Doubles, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    env = {
        **doubles.env,
        "CLAUDE_DOUBLE_SLEEP": "30",
        "CLAUDE_DOUBLE_IGNORE_TERM": "1",
        "CLAUDE_DOUBLE_CHILD_PIDFILE": str(pidfile),
    }
    task = asyncio.create_task(
        run_process(["claude", "-p", "x"], timeout=60, env=env, kill_grace=0.5)
    )
    for _ in range(200):
        if pidfile.exists() and pidfile.read_text():
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _wait_dead(int(pidfile.read_text()))
    assert doubles.prompts() == [["-p", "x"]]  # it did start


async def test_output_is_capped_without_blocking_the_program(tmp_path: Path) -> None:
    script = "import sys; sys.stdout.write('x' * 5_000_000); sys.stderr.write('e' * 300_000)"
    result = await run_process([sys.executable, "-c", script], timeout=30, keep_bytes=100_000)
    assert result.ok
    assert len(result.stdout) == 100_000 and result.stdout_dropped == 4_900_000
    assert len(result.stderr) == 100_000 and result.stderr_dropped == 200_000


async def test_no_stdin(tmp_path: Path) -> None:
    result = await run_process(
        [sys.executable, "-c", "import sys; print(repr(sys.stdin.read()))"], timeout=10
    )
    assert result.stdout.strip() == "''"
