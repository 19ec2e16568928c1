"""The server as a client of itself: its host's own Claude data, followed like a device's.

The same incremental tailer as ``ccsync agent`` (offsets and outbox in
``<data dir>/host-agent.db``), delivering straight into the ingest service instead of over
the network. It follows the files (watching them) while the server runs, and
``POST /api/usage/ccusage`` syncs at once. Like an agent, it numbers its pushes and
reads everything again when the database is not the history it fed, or lacks lines it
took (``ccsync.agent.identity``): a replaced or restored database gets them back. The
official limit readings of its lines (limit-hit lines) go to ingest as a device's do
(``ccsync.agent.readings``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from ccsync.agent.identity import ServerView, observe
from ccsync.agent.readings import BATCH as READINGS_BATCH
from ccsync.agent.readings import limits_to_send
from ccsync.agent.state import AgentState
from ccsync.agent.tail import Tailer
from ccsync.agent.watch import watch
from ccsync.server.ingest import IngestError, IngestService
from ccsync.server.window import WindowView
from ccsync.storage import StorageUnavailableError
from ccsync.storage.history.entries import EntryStore
from ccsync.usage.discovery import NoDataDirsError, claude_account, resolve_data_dirs
from ccsync.wire import UsagePush, WireEntry

log = logging.getLogger("ccsync.server.host_agent")
BATCH = 5_000
SWEEP_SECONDS = 30.0
RETRY_SECONDS = 5.0

_decode_entry = msgspec.json.Decoder(WireEntry).decode


@dataclass(frozen=True, slots=True)
class HostSync:
    """What one sync of the host's data did."""

    device_id: str
    account: str
    files: int
    """Transcripts followed."""
    accepted: int
    duplicate: int
    resynced: str | None = None
    """Why everything was read again, if it was."""
    limits: int = 0
    """Official readings (windows) handed to ingest."""


class HostSyncView(msgspec.Struct, rename="camel"):
    """``POST /api/usage/ccusage``: what a sync of the host's own data took, and the window."""

    success: bool
    device_id: str
    account: str
    files: int
    accepted: int
    duplicate: int
    window: WindowView


def host_device_id(hostname: str | None = None) -> str:
    """A device id for this host: its name, reduced to the characters ids allow."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", hostname or socket.gethostname()).strip("-")
    return name or "host"


class HostAgent:
    def __init__(
        self,
        ingest: IngestService,
        entries: EntryStore,
        state_path: Path,
        claude_dirs: Sequence[str] = (),
        device_id: str | None = None,
        account: str | None = None,
    ) -> None:
        self.ingest = ingest
        self.entries = entries
        """Where the history's id and this stream's mark are read."""
        self.claude_dirs = tuple(claude_dirs)
        self.device_id = device_id or host_device_id()
        self.account = account or claude_account() or "default"
        self.state = AgentState(state_path)
        self.stream = self.state.stream()
        self.tailer = Tailer(self.state, [])
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    def close(self) -> None:
        self.state.close()

    def _roots(self) -> list[Path]:
        try:
            return resolve_data_dirs(self.claude_dirs)
        except NoDataDirsError as exc:
            log.warning("host.no_data", extra={"error": str(exc)})
            return []

    async def sync(self) -> HostSync:
        """Read what is new in the host's transcripts and ingest it."""
        async with self._lock:
            acked = self.state.acked()
            view = ServerView(
                await self.entries.history_id(),
                await self.entries.device_mark(self.device_id, self.stream),
            )
            reasons = [self._note(view, acked)]
            self.tailer.roots = self._roots()
            await asyncio.to_thread(self.tailer.scan)
            accepted = duplicate = 0
            while pending := self.state.pending(BATCH):
                ids = [outbox_id for outbox_id, _ in pending]
                acked = self.state.acked()
                push = UsagePush(
                    entries=[_decode_entry(row) for _, row in pending],
                    account=self.account,
                    stream=self.stream,
                    seq=max(ids),
                    acked=acked,
                )
                ack = await self.ingest.push(self.device_id, push)
                self.state.acknowledge(ids)
                accepted += ack.accepted
                duplicate += ack.duplicate
                if ack.history_id is not None:
                    reasons.append(self._note(ServerView(ack.history_id, ack.mark), acked))
                if self.state.resync_pending() is not None:
                    await asyncio.to_thread(self.tailer.scan)
            limits = await self._report_limits()
            if accepted:
                log.info("host.synced", extra={"accepted": accepted, "duplicate": duplicate})
            return HostSync(
                self.device_id,
                self.account,
                len(self.state.files()),
                accepted,
                duplicate,
                next((reason for reason in reasons if reason), None),
                limits,
            )

    async def sync_now(self) -> HostSyncView:
        """``sync``, answered with the account's window after it."""
        done = await self.sync()
        return HostSyncView(
            success=True,
            device_id=done.device_id,
            account=done.account,
            files=done.files,
            accepted=done.accepted,
            duplicate=done.duplicate,
            window=await self.ingest.reporter.window(done.account),
        )

    async def _report_limits(self) -> int:
        """Hand the official readings found in the lines to ingest; how many windows."""
        taken = 0
        while rows := self.state.pending_readings(READINGS_BATCH):
            for limits in limits_to_send(rows, self.ingest.clock.now_ms(), self.account):
                try:
                    await self.ingest.report_limits(self.device_id, limits)
                    taken += len(limits.readings())
                except IngestError as exc:
                    log.warning("host.limits_refused", extra={"error": str(exc)})
            self.state.drop_readings([reading_id for reading_id, _, _ in rows])
        return taken

    def _note(self, view: ServerView, acked: int) -> str | None:
        reason = observe(self.state, view, acked)
        if reason is not None:
            log.warning("host.resync", extra={"reason": reason})
        return reason

    async def follow(self) -> None:
        """Sync now, then whenever the transcripts change (and every ``SWEEP_SECONDS``),
        for as long as the server runs; a store that does not answer is tried again after
        ``RETRY_SECONDS``. Anything else ends it (the server's supervisor restarts it),
        and so does a watcher that failed."""
        watcher = asyncio.create_task(watch(self._roots(), self._wake.set))
        try:
            while True:
                wait = SWEEP_SECONDS
                try:
                    await self.sync()
                except StorageUnavailableError as exc:
                    log.warning("host.sync_failed", extra={"error": str(exc)})
                    wait = RETRY_SECONDS
                if watcher.done():
                    watcher.result()  # its failure is ours: raised to the supervisor
                    raise RuntimeError("the transcript watcher stopped")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                self._wake.clear()
        finally:
            watcher.cancel()
