"""Background loops with an owner: each runs as a named task, and one that fails is logged,
counted and started again.

The server's loops (the event relay, the scheduler, the host agent, retention) run for as
long as the server does. Each handles the failures it expects (a store that does not
answer: a warning, then a retry); the supervisor is the net under them. A loop that raises
anything else, or returns, is logged as ``task.crashed`` with its name and traceback,
counted (``TaskObserver``: Prometheus), and started again after a backoff: ``first``
seconds, doubling up to ``limit``, and back to ``first`` after a run that lasted
``healthy_after``. ``states`` says what each loop is doing (``/api/status``).

The composition root owns one supervisor and closes it on its exit stack: ``aclose``
cancels every loop and waits for them to end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from ccsync.clock import Clock
from ccsync.redaction import redact

log = logging.getLogger("ccsync.server.supervisor")

TaskState = Literal["running", "backing-off"]
Loop = Callable[[], Awaitable[None]]
"""Starts one run of a loop (called again for each restart)."""
Sleep = Callable[[float], Awaitable[None]]
ERROR_KEEP_CHARS = 300
STOP_SECONDS = 10.0
"""How long ``stop`` waits for a cancelled loop to end."""
RETURNED = "the loop returned (it should run for as long as the server does)"


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait before starting a failed loop again."""

    first: float = 0.5
    limit: float = 30.0
    healthy_after: float = 60.0
    """A run at least this long resets the delay to ``first``."""

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failure in a row (counting from 1)."""
        return min(self.limit, self.first * 2.0 ** max(0, failures - 1))


@dataclass(frozen=True, slots=True)
class TaskStatus:
    name: str
    state: TaskState
    since_ms: int
    """When it entered ``state``."""
    restarts: int = 0
    last_error: str | None = None
    """The last failure's type and message, secrets masked (no traceback)."""
    last_crash_ms: int | None = None


class TaskObserver(Protocol):
    """Told what the supervised loops do (Prometheus)."""

    def task_state(self, name: str, running: bool) -> None: ...

    def task_restarted(self, name: str) -> None: ...


class Supervisor:
    def __init__(
        self,
        clock: Clock,
        *,
        observer: TaskObserver | None = None,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.observer = observer
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._monotonic = monotonic
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._states: dict[str, TaskStatus] = {}

    def start(self, name: str, loop: Loop) -> None:
        """Run ``loop()`` as the task ``name``, again whenever it fails, until stopped."""
        if name in self._tasks:
            raise ValueError(f"a task named {name!r} runs already")
        self._set(name, "running")
        task = asyncio.create_task(self._supervise(name, loop), name=name)
        task.add_done_callback(self._ended)
        self._tasks[name] = task

    def states(self) -> list[TaskStatus]:
        """Every supervised loop's state, by name."""
        return [self._states[name] for name in sorted(self._states)]

    async def stop(self, name: str) -> None:
        """Cancel the task ``name`` and wait for it to end; it is no longer listed."""
        task = self._tasks.pop(name, None)
        if task is None:
            return
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=STOP_SECONDS)
        if not done:  # a loop that ignores cancellation: left behind, but said
            log.error("task.stuck", extra={"task": name, "waited": STOP_SECONDS})
        self._states.pop(name, None)
        if self.observer is not None:
            self.observer.task_state(name, False)

    async def aclose(self) -> None:
        """Cancel every task and wait for them all to end."""
        names = list(self._tasks)
        for name in names:
            self._tasks[name].cancel()
        for name in names:
            await self.stop(name)

    async def _supervise(self, name: str, loop: Loop) -> None:
        failures = 0
        while True:
            began = self._monotonic()
            failure: BaseException | None = None
            try:
                await loop()
            except asyncio.CancelledError as exc:
                if _stopping():
                    raise
                failure = exc  # a cancellation meant for something inside the loop
            except Exception as exc:
                failure = exc
            if _stopping():
                return  # stopped, though the loop swallowed its cancellation
            if self._monotonic() - began >= self.backoff.healthy_after:
                failures = 0
            failures += 1
            delay = self.backoff.delay(failures)
            error = (
                RETURNED
                if failure is None
                else redact(f"{type(failure).__name__}: {failure}")[:ERROR_KEEP_CHARS]
            )
            log.error(
                "task.crashed",
                exc_info=failure,
                extra={"task": name, "error": error, "restart_in": delay},
            )
            now = self.clock.now_ms()
            status = self._states[name]
            self._states[name] = replace(
                status,
                state="backing-off",
                since_ms=now,
                restarts=status.restarts + 1,
                last_error=error,
                last_crash_ms=now,
            )
            if self.observer is not None:
                self.observer.task_restarted(name)
                self.observer.task_state(name, False)
            del failure  # its traceback holds the loop's frames
            await self._sleep(delay)
            self._set(name, "running")

    def _set(self, name: str, state: TaskState) -> None:
        now = self.clock.now_ms()
        status = self._states.get(name)
        self._states[name] = (
            TaskStatus(name, state, now)
            if status is None
            else replace(status, state=state, since_ms=now)
        )
        if self.observer is not None:
            self.observer.task_state(name, state == "running")

    def _ended(self, task: asyncio.Task[None]) -> None:
        """The supervision itself failed (never expected): say so, loudly."""
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.critical(
                "task.unsupervised",
                exc_info=exc,
                extra={"task": task.get_name(), "error": f"{type(exc).__name__}: {exc}"},
            )


def _stopping() -> bool:
    """Whether the running task is being cancelled (``stop``, ``aclose``)."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0
