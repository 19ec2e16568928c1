"""The agent's loop: notice changes, read them into the outbox, deliver the outbox.

Changes are noticed by watching the data directories (inotify through ``watchfiles``;
polling where watching is not possible), by a sweep every ``SWEEP_SECONDS``, and when
the server sends ``sync_request``. Delivery goes over the WebSocket when it is up, else
over HTTP; a failed delivery is retried with exponential backoff and jitter (1 s → 30 s),
and so is connecting. Nothing leaves the outbox unacknowledged.

Every contact (the ``welcome`` of each connection, each acknowledgement, and the mark
``--once`` asks for first) tells whether the server still holds what it acknowledged; when
it does not, everything is read again (``ccsync.agent.identity``).

Official limit readings follow the lines, as ``POST /api/limits/{deviceId}``: those found
in the lines, and those of Claude Code's cached usage response (``~/.claude.json``, looked
at with every read and polled for changes: ``ccsync.agent.usage_cache``). They too wait in
the state until the server took them (``ccsync.agent.readings``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from ccsync.agent.config import AgentConfig
from ccsync.agent.identity import ServerView, observe
from ccsync.agent.readings import BATCH as READINGS_BATCH
from ccsync.agent.readings import legacy, limits_to_send
from ccsync.agent.state import AgentState
from ccsync.agent.tail import Tailer, TailResult
from ccsync.agent.transport import DeliveryError, HttpSink, Identity, Numbering, SocketLink
from ccsync.agent.usage_cache import UsageCache
from ccsync.agent.watch import watch, watch_files
from ccsync.usage.discovery import claude_json_paths
from ccsync.usage.loader import ScanProgress
from ccsync.wire import encode

log = logging.getLogger("ccsync.agent")

BATCH = 2_000
SWEEP_SECONDS = 30.0
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0
TRANSIENT = frozenset({401, 403, 408, 425, 429})
"""Answers to a limits push that may change by themselves: the readings wait (like 5xx)."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    read: TailResult
    sent: int
    left: int
    error: str | None = None
    resynced: tuple[str, ...] = ()
    """Why everything was read again, when it was (the server lacked lines)."""
    limits: int = 0
    """Official readings (windows) the server took."""
    limits_left: int = 0
    """Official readings waiting in the state."""


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        roots: Sequence[Path],
        account: str,
        *,
        batch: int = BATCH,
        http_timeout: float = 30.0,
        name: str | None = None,
        claude_json: Sequence[Path] | None = None,
    ) -> None:
        self.config = config
        self.roots = list(roots)
        self.state = AgentState(config.state_dir / "agent.db")
        self.tailer = Tailer(self.state, self.roots)
        self.usage_cache = UsageCache(
            self.state,
            claude_json_paths(self.roots) if claude_json is None else claude_json,
            account,
        )
        """Claude Code's cached usage response (``claude_json``: the ``.claude.json`` files
        to look in; by default where Claude Code keeps it)."""
        self.identity = Identity(config.device, account, socket.gethostname(), name)
        self.stream = self.state.stream()
        self.http = HttpSink(config.server, config.token, self.identity, timeout=http_timeout)
        self.link = SocketLink(
            config.server,
            config.token,
            self.identity,
            on_sync_request=self.wake,
            stream=self.stream,
        )
        self.batch = batch
        self.numbered: bool | None = None
        """Whether the server tells its history and takes numbered pushes (``None``: not
        known yet)."""
        self.resyncs: list[str] = []
        self._acked = self.state.acked()
        self._welcomes: list[tuple[ServerView, int]] = []
        self._wake = asyncio.Event()
        self._failures = 0

    async def aclose(self) -> None:
        await self.link.close()
        await self.http.aclose()
        self.state.close()

    def wake(self) -> None:
        """Look for changes and deliver now."""
        self._wake.set()

    # -- one pass ------------------------------------------------------------------------
    async def read(self, progress: ScanProgress | None = None) -> TailResult:
        return await asyncio.to_thread(self._read, progress)

    def _read(self, progress: ScanProgress | None) -> TailResult:
        """What is new in the transcripts, then in Claude Code's cached usage response."""
        read = self.tailer.scan(progress)
        self.usage_cache.check(int(time.time() * 1000))
        return read

    async def deliver(self) -> int:
        """Send the outbox in batches until it is empty; ``DeliveryError`` stops it."""
        sent = 0
        batch = self.batch
        while True:
            pending = self.state.pending(batch)
            if not pending:
                return sent
            rows = [row for _, row in pending]
            ids = [outbox_id for outbox_id, _ in pending]
            sink = self.link if self.link.connected else self.http
            if sink is self.http and self.numbered is None:
                await self.ask_server()
            self._acked = self.state.acked()  # another process sharing the state may move it
            numbering = Numbering(self.stream, max(ids), self._acked) if self.numbered else None
            try:
                ack = await sink.push(rows, numbering)
            except DeliveryError as exc:
                if exc.too_large and batch > 1:
                    batch = max(1, batch // 2)
                    continue
                raise
            self.state.acknowledge(ids)
            asked, self._acked = self._acked, self.state.acked()
            self._note(ServerView.from_message(ack), asked)
            sent += len(pending)

    async def deliver_limits(self) -> int:
        """Send the official readings waiting in the state, one push per source
        (``DeliveryError`` stops it, and they wait); how many windows the server took."""
        sent = 0
        while rows := self.state.pending_readings(READINGS_BATCH):
            now_ms = int(time.time() * 1000)
            for limits in limits_to_send(rows, now_ms, self.identity.account):
                status = await self.http.post_limits(encode(limits))
                older = legacy(limits) if status == 422 else None
                if older is not None:  # a server from before readings said their source
                    status = await self.http.post_limits(encode(older))
                if status >= 500 or status in TRANSIENT:
                    raise DeliveryError(f"server answered {status} to official limits")
                if status == 200:
                    sent += len(limits.readings())
                else:  # refused as they are: sending them again changes nothing
                    log.warning("agent.limits_refused", extra={"status": status})
            self.state.drop_readings([reading_id for reading_id, _, _ in rows])
        return sent

    async def ask_server(self) -> None:
        """Ask over HTTP what the server holds of this agent's lines (``DeliveryError``
        when it cannot be reached)."""
        asked = self._acked = self.state.acked()
        answer = await self.http.mark(self.stream)
        self.numbered = answer is not None
        if answer is not None:
            self._note(ServerView.from_message(answer), asked)

    def _note(self, view: ServerView | None, asked: int) -> None:
        """Take note of what the server said (only between reads: it writes the state)."""
        if view is None:
            return
        self.numbered = True
        reason = observe(self.state, view, asked)
        if reason is not None:
            self._acked = self.state.acked()
            self.resyncs.append(reason)
            log.warning("agent.resync", extra={"reason": reason, "server": self.config.server})

    async def sync_once(self, progress: ScanProgress | None = None) -> SyncResult:
        """Read what is new and deliver it over HTTP (``ccsync agent --once``)."""
        with contextlib.suppress(DeliveryError):  # then the push says why
            await self.ask_server()
        read = await self.read(progress)
        try:
            sent = await self.deliver()
            if self.state.resync_pending() is not None:  # an acknowledgement told of a loss
                again = await self.read()
                read = TailResult(
                    read.files,
                    read.bytes + again.bytes,
                    read.entries + again.entries,
                    read.readings + again.readings,
                )
                sent += await self.deliver()
            limits = await self.deliver_limits()
            error = None
        except DeliveryError as exc:
            sent, limits, error = 0, 0, str(exc)
        return SyncResult(
            read,
            sent,
            self.state.outbox_size(),
            error,
            tuple(self.resyncs),
            limits,
            self.state.readings_waiting(),
        )

    # -- forever -------------------------------------------------------------------------
    async def run(self, progress: ScanProgress | None = None) -> None:
        """Follow the transcripts and keep the server up to date until cancelled."""
        await self.read(progress)  # the first import (possibly the whole history)
        self.wake()
        tasks = [
            asyncio.create_task(self._connect_forever(), name="link"),
            asyncio.create_task(self._watch(), name="watch"),
            asyncio.create_task(self._sweep(), name="sweep"),
            asyncio.create_task(self._work(), name="work"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while self._welcomes:
                    self._note(*self._welcomes.pop(0))
                await self.read()
                sent = await self.deliver()
                if sent:
                    log.info("agent.delivered", extra={"entries": sent})
                limits = await self.deliver_limits()
                if limits:
                    log.info("agent.limits_delivered", extra={"windows": limits})
                self._failures = 0
                if self.state.resync_pending() is not None:
                    self.wake()  # an acknowledgement told of a loss: read everything again
            except DeliveryError as exc:
                self._failures += 1
                delay = self._backoff(self._failures, exc.retry_after)
                log.warning(
                    "agent.delivery_failed", extra={"error": str(exc), "retry_in": round(delay, 1)}
                )
                loop.call_later(delay, self.wake)

    @staticmethod
    def _backoff(failures: int, hint: float | None) -> float:
        delay: float = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (failures - 1)) * random.uniform(
            0.5, 1.0
        )
        return max(delay, hint or 0.0)

    async def _connect_forever(self) -> None:
        while True:
            retrying = AsyncRetrying(
                wait=wait_exponential_jitter(initial=BACKOFF_FIRST, max=BACKOFF_MAX),
                retry=retry_if_exception_type(DeliveryError),
            )
            asked, welcome = self._acked, None
            async for attempt in retrying:
                with attempt:
                    asked = self._acked  # what the welcome must account for at least
                    welcome = await self.link.open()
            view = ServerView.from_message(welcome or {})
            self.numbered = view is not None
            if view is not None:
                self._welcomes.append((view, asked))  # taken note of between reads
            log.info("agent.connected", extra={"server": self.config.server})
            self.wake()  # deliver what waited while offline
            try:
                await self.link.serve()
            except DeliveryError as exc:
                log.info("agent.disconnected", extra={"reason": str(exc)})

    async def _watch(self) -> None:
        await asyncio.gather(
            watch(self.roots, self.wake), watch_files(self.usage_cache.paths, self.wake)
        )

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            self.wake()
