"""The supervisor on its own: restarts with backoff, what it says and counts, and shutdown.

Sleeps and the monotonic clock are injected, so nothing here waits for a backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest
from prometheus_client import generate_latest

from ccsync.clock import FixedClock
from ccsync.server import supervisor as supervisor_module
from ccsync.server.supervisor import RETURNED, Backoff, Supervisor
from ccsync.server.telemetry import Telemetry

pytestmark = pytest.mark.timeout(30)


class Sleeps:
    """A fake ``asyncio.sleep``: records each delay; the ``hold_at``-th call blocks."""

    def __init__(self, hold_at: int | None = None) -> None:
        self.delays: list[float] = []
        self.hold_at = hold_at
        self.held = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if len(self.delays) == self.hold_at:
            self.held.set()
            await asyncio.Event().wait()  # until cancelled
        await asyncio.sleep(0)


async def _until(condition: Callable[[], bool], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.001)


def _failing(times: list[int], error: str = "boom") -> Callable[[], Awaitable[None]]:
    async def loop() -> None:
        times.append(1)
        raise RuntimeError(f"{error} {len(times)}")

    return loop


async def test_a_failing_loop_is_restarted_with_doubling_delays_up_to_the_limit() -> None:
    sleeps = Sleeps(hold_at=6)
    clock = FixedClock(1_000)
    supervisor = Supervisor(clock, backoff=Backoff(first=0.5, limit=4), sleep=sleeps)
    runs: list[int] = []
    supervisor.start("flaky", _failing(runs))
    await asyncio.wait_for(sleeps.held.wait(), 5)
    assert sleeps.delays == [0.5, 1, 2, 4, 4, 4]
    assert len(runs) == 6
    (state,) = supervisor.states()
    assert (state.name, state.state, state.restarts) == ("flaky", "backing-off", 6)
    assert state.last_error == "RuntimeError: boom 6"
    assert state.last_crash_ms == state.since_ms == 1_000
    await supervisor.aclose()


async def test_the_delay_starts_again_after_a_healthy_run() -> None:
    now = [0.0]
    sleeps = Sleeps(hold_at=4)
    supervisor = Supervisor(
        FixedClock(0),
        backoff=Backoff(first=1, limit=30, healthy_after=60),
        sleep=sleeps,
        monotonic=lambda: now[0],
    )
    runs: list[int] = []

    async def loop() -> None:
        runs.append(1)
        if len(runs) == 3:
            now[0] += 61  # this run lasted a while before it failed
        raise RuntimeError("boom")

    supervisor.start("flaky", loop)
    await asyncio.wait_for(sleeps.held.wait(), 5)
    assert sleeps.delays == [1, 2, 1, 2]
    await supervisor.aclose()


async def test_a_crash_is_logged_with_the_task_name_traceback_and_masked_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ccsync.server.supervisor")
    sleeps = Sleeps(hold_at=1)
    supervisor = Supervisor(FixedClock(0), sleep=sleeps)

    async def loop() -> None:
        raise ConnectionError("cannot reach redis://ccsync:hunter2@db:6379/0")

    supervisor.start("relay", loop)
    await asyncio.wait_for(sleeps.held.wait(), 5)
    (record,) = [r for r in caplog.records if r.message == "task.crashed"]
    assert record.levelno == logging.ERROR
    assert record.task == "relay"  # type: ignore[attr-defined]
    assert record.restart_in == 0.5  # type: ignore[attr-defined]
    assert record.exc_info is not None and record.exc_info[0] is ConnectionError
    assert "hunter2" not in record.error  # type: ignore[attr-defined]
    (state,) = supervisor.states()
    assert state.last_error == "ConnectionError: cannot reach redis://ccsync:***@db:6379/0"
    await supervisor.aclose()


async def test_a_loop_that_returns_is_restarted_too(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ccsync.server.supervisor")
    sleeps = Sleeps(hold_at=2)
    supervisor = Supervisor(FixedClock(0), sleep=sleeps)
    runs: list[int] = []

    async def loop() -> None:
        runs.append(1)

    supervisor.start("short", loop)
    await asyncio.wait_for(sleeps.held.wait(), 5)
    assert len(runs) == 2
    (state,) = supervisor.states()
    assert state.restarts == 2 and state.last_error == RETURNED
    crashed = [r for r in caplog.records if r.message == "task.crashed"]
    assert len(crashed) == 2 and crashed[0].exc_info is None
    await supervisor.aclose()


async def test_a_stray_cancellation_inside_a_loop_counts_as_a_failure() -> None:
    sleeps = Sleeps(hold_at=1)
    supervisor = Supervisor(FixedClock(0), sleep=sleeps)

    async def loop() -> None:
        inner = asyncio.create_task(asyncio.sleep(10))
        inner.cancel()
        await inner  # CancelledError, though nobody stops the loop

    supervisor.start("leaky", loop)
    await asyncio.wait_for(sleeps.held.wait(), 5)
    (state,) = supervisor.states()
    assert state.restarts == 1 and state.last_error is not None
    assert state.last_error.startswith("CancelledError")
    await supervisor.aclose()


async def test_a_running_loop_is_reported_running() -> None:
    clock = FixedClock(5_000)
    supervisor = Supervisor(clock)
    started = asyncio.Event()

    async def loop() -> None:
        started.set()
        await asyncio.Event().wait()

    supervisor.start("steady", loop)
    await asyncio.wait_for(started.wait(), 5)
    (state,) = supervisor.states()
    assert (state.state, state.restarts, state.last_error, state.since_ms) == (
        "running",
        0,
        None,
        5_000,
    )
    with pytest.raises(ValueError, match="runs already"):
        supervisor.start("steady", loop)
    await supervisor.aclose()


async def test_aclose_cancels_every_loop_and_waits_for_it() -> None:
    sleeps = Sleeps(hold_at=1)
    supervisor = Supervisor(FixedClock(0), sleep=sleeps)
    cleaned: list[str] = []
    started = asyncio.Event()

    async def steady() -> None:
        try:
            started.set()
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.01)  # a cleanup that takes a moment
            cleaned.append("steady")

    supervisor.start("steady", steady)
    supervisor.start("failing", _failing([]))
    await asyncio.wait_for(asyncio.gather(started.wait(), sleeps.held.wait()), 5)
    await supervisor.aclose()
    assert cleaned == ["steady"]
    assert supervisor.states() == []
    await asyncio.sleep(0.05)
    assert sleeps.delays == [0.5]  # nothing restarted after the close


async def test_stop_ends_one_loop_and_lets_its_name_be_used_again() -> None:
    supervisor = Supervisor(FixedClock(0))
    runs: list[str] = []

    async def loop() -> None:
        runs.append("run")
        await asyncio.Event().wait()

    supervisor.start("relay", loop)
    await _until(lambda: len(runs) == 1)
    await supervisor.stop("relay")
    assert supervisor.states() == []
    supervisor.start("relay", loop)
    await _until(lambda: len(runs) == 2)
    assert [s.state for s in supervisor.states()] == ["running"]
    await supervisor.aclose()


async def test_restarts_and_running_tasks_are_prometheus_metrics() -> None:
    telemetry = Telemetry()
    sleeps = Sleeps(hold_at=2)
    supervisor = Supervisor(FixedClock(0), observer=telemetry, sleep=sleeps)
    steady = asyncio.Event()

    async def quiet() -> None:
        steady.set()
        await asyncio.Event().wait()

    supervisor.start("quiet", quiet)
    supervisor.start("flaky", _failing([]))
    await asyncio.wait_for(asyncio.gather(steady.wait(), sleeps.held.wait()), 5)
    text = generate_latest(telemetry.registry).decode()
    assert 'ccsync_task_restarts_total{task="flaky"} 2.0' in text
    assert 'ccsync_task_restarts_total{task="quiet"} 0.0' in text
    assert 'ccsync_task_running{task="flaky"} 0.0' in text
    assert 'ccsync_task_running{task="quiet"} 1.0' in text
    await supervisor.aclose()
    text = generate_latest(telemetry.registry).decode()
    assert 'ccsync_task_running{task="quiet"} 0.0' in text


def test_the_backoff_doubles_and_stops_at_its_limit() -> None:
    backoff = Backoff(first=0.5, limit=30)
    assert [backoff.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


async def test_stop_does_not_hang_on_a_loop_that_ignores_cancellation(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(supervisor_module, "STOP_SECONDS", 0.2)
    supervisor = Supervisor(FixedClock(0))
    release = asyncio.Event()
    started = asyncio.Event()
    runs: list[int] = []

    async def stubborn() -> None:
        runs.append(1)
        started.set()
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # a bug: it will not stop

    supervisor.start("stubborn", stubborn)
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(supervisor.aclose(), 5)
    assert [r.message for r in caplog.records if r.message.startswith("task.")] == ["task.stuck"]
    assert supervisor.states() == []
    release.set()  # once it does end, it is not started again
    await asyncio.sleep(0.05)
    assert runs == [1]
