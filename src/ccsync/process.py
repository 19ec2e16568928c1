"""Run one program as an argument vector: timeout, process group, capped output.

The one subprocess runner: cron runs and ``claude auth status`` (``scheduler``), the
``/api/status`` tool probes, ``ccsync doctor``, and the agent's ``ccusage`` source. Standard
library only, so the device side may import it too.

The program runs in a session (and process group) of its own, with no stdin; its process
group id (its pid) is handed to ``on_start`` as soon as it runs, so a caller can record
it (a server that dies mid-run leaves it behind for the next one to stop). On timeout,
or when the awaiting task is cancelled (server shutdown), the whole group gets SIGTERM,
then SIGKILL after a grace period: whatever the program started dies with it. Output is
read as it comes, so a chatty program never blocks on a full pipe; beyond ``keep_bytes``
it is counted and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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
            start_new_session=True,
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
            _signal_group(process.pid, signal.SIGKILL)
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
    """SIGTERM to the process group, SIGKILL when it is still there after ``grace``."""
    _signal_group(process.pid, signal.SIGTERM)
    try:
        async with asyncio.timeout(grace):
            await process.wait()
    except TimeoutError:
        pass
    _signal_group(process.pid, signal.SIGKILL)  # also the children that ignored SIGTERM
    await process.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
