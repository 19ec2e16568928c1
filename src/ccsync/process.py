"""Run one program as an argument vector: timeout, process group, capped output.

The one subprocess runner: cron runs and ``claude auth status`` (``scheduler``), the
``/api/status`` tool probes, ``ccsync doctor``, and the agent's ``ccusage`` source. Standard
library only, so the device side may import it too.

The program runs in a process group of its own, with no stdin; its process group id (its
pid) is handed to ``on_start`` as soon as it runs, so a caller can record it (a server
that dies mid-run leaves it behind for the next one to stop). On timeout, or when the
awaiting task is cancelled (server shutdown), the whole tree is stopped, gently first,
then for good after a grace period: whatever the program started dies with it. Output is
read as it comes, so a chatty program never blocks on a full pipe; beyond ``keep_bytes``
it is counted and dropped.

Per platform (``start_options``, ``stop_steps``: pure, so every platform's plan is tested
anywhere):

- Linux and macOS: a session of its own (``start_new_session``); SIGTERM to the process
  group, then SIGKILL.
- Windows: ``CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW``; CTRL_BREAK to the group (what a
  console program takes for Ctrl+C), then ``taskkill /T /F /PID <pid>`` (the process and
  every process it started, by parentage).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KILL_GRACE_SECONDS = 5.0
READ_CHUNK = 65_536

OnStart = Callable[[int], Awaitable[None]]
"""Told the process group id of a program that started."""


@dataclass(frozen=True, slots=True)
class ProcessResult:
    argv: tuple[str, ...]
    exit_code: int | None
    """The exit status; ``-N`` when killed by signal ``N``; ``None`` when it never started."""
    stdout: str
    stderr: str
    stdout_dropped: int = 0
    """Bytes beyond ``keep_bytes`` that were read and dropped."""
    stderr_dropped: int = 0
    timed_out: bool = False
    duration_ms: int = 0
    error: str | None = None
    """Why it did not start (program not found, not executable)."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class _Capture:
    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.chunks: list[bytes] = []
        self.size = 0
        self.dropped = 0

    async def drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(READ_CHUNK):
            room = self.keep - self.size
            if room > 0:
                self.chunks.append(chunk[:room])
                self.size += min(room, len(chunk))
            self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", errors="replace")


CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_NO_WINDOW = 0x08000000
"""Windows process creation flags (WinBase.h); ``subprocess`` has them on Windows only."""
TASKKILL_SECONDS = 10.0


def start_options(platform: str = sys.platform) -> dict[str, Any]:
    """The ``create_subprocess_exec`` options that give a program a group of its own."""
    if platform == "win32":
        return {"creationflags": CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW}
    return {"start_new_session": True}


def stop_steps(pid: int, platform: str = sys.platform) -> tuple[str, str]:
    """How the tree of ``pid`` is stopped on ``platform``: the gentle step, then the final
    one (described; ``_terminate`` and ``_kill_tree`` do them)."""
    if platform == "win32":
        return f"CTRL_BREAK_EVENT to group {pid}", " ".join(taskkill_argv(pid))
    return f"SIGTERM to group {pid}", f"SIGKILL to group {pid}"


def taskkill_argv(pid: int) -> list[str]:
    """Windows: end ``pid`` and every process it started, without asking them."""
    return ["taskkill", "/T", "/F", "/PID", str(pid)]


def resolve_program(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The executable ``name`` runs: a path as given, or looked up on ``PATH``."""
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    return shutil.which(name, path=path)


async def run_process(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    keep_bytes: int = 1 << 20,
    kill_grace: float = KILL_GRACE_SECONDS,
    on_start: OnStart | None = None,
) -> ProcessResult:
    """Run ``argv`` (never through a shell) and wait for it, at most ``timeout`` seconds."""
    args = tuple(argv)
    started = time.monotonic()
    executable = resolve_program(args[0], env)
    if executable is None:
        return ProcessResult(args, None, "", "", error=f"{args[0]} not found on PATH")
    try:
        process = await asyncio.create_subprocess_exec(
            executable,
            *args[1:],
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            **start_options(),
        )
    except OSError as exc:
        return ProcessResult(args, None, "", "", error=f"cannot start {args[0]}: {exc.strerror}")
    assert process.stdout is not None
    assert process.stderr is not None
    out, err = _Capture(keep_bytes), _Capture(keep_bytes)
    readers = asyncio.gather(out.drain(process.stdout), err.drain(process.stderr))
    timed_out = False
    try:
        if on_start is not None:
            await on_start(process.pid)
        try:
            async with asyncio.timeout(timeout):
                await process.wait()
        except TimeoutError:
            timed_out = True
            await _stop_group(process, kill_grace)
        # The group may hold the pipes open after the leader exits: bounded wait.
        try:
            async with asyncio.timeout(kill_grace):
                await asyncio.shield(readers)
        except TimeoutError:
            await _kill_tree(process.pid)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await asyncio.shield(readers)
    except BaseException:  # cancelled (server shutdown), or on_start failed: stop the group
        await asyncio.shield(_stop_group(process, min(kill_grace, 2.0)))
        readers.cancel()
        raise
    finally:
        if not readers.done():
            readers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await readers
    return ProcessResult(
        argv=args,
        exit_code=process.returncode,
        stdout=out.text(),
        stderr=err.text(),
        stdout_dropped=out.dropped,
        stderr_dropped=err.dropped,
        timed_out=timed_out,
        duration_ms=round((time.monotonic() - started) * 1000),
    )


async def _stop_group(process: asyncio.subprocess.Process, grace: float) -> None:
    """Stop the program's tree: gently, then for good when it is still there after
    ``grace`` (also the children that ignored the gentle step)."""
    _terminate(process.pid)
    try:
        async with asyncio.timeout(grace):
            await process.wait()
    except TimeoutError:
        pass
    await _kill_tree(process.pid)
    await process.wait()


def _terminate(pid: int) -> None:
    if sys.platform == "win32":
        with contextlib.suppress(OSError):
            os.kill(pid, signal.CTRL_BREAK_EVENT)
    else:
        _signal_group(pid, signal.SIGTERM)


async def _kill_tree(pid: int) -> None:
    if sys.platform == "win32":
        with contextlib.suppress(OSError, TimeoutError):
            killer = await asyncio.create_subprocess_exec(
                *taskkill_argv(pid),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                creationflags=CREATE_NO_WINDOW,
            )
            async with asyncio.timeout(TASKKILL_SECONDS):
                await killer.wait()
    else:
        _signal_group(pid, signal.SIGKILL)


if sys.platform != "win32":

    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
