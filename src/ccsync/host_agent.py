"""The server as a client of itself: its host's own Claude data, pushed like any device's.

A full scan each time (cheap enough for one machine); the lines the server already has
come back as duplicates and change nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from ccsync.ingest import IngestService
from ccsync.usage.discovery import NoDataDirsError, claude_account, resolve_data_dirs
from ccsync.usage.loader import scan
from ccsync.wire import PushAck, UsagePush, WireEntry

log = logging.getLogger("ccsync.host_agent")
BATCH = 5_000


@dataclass(frozen=True, slots=True)
class HostSync:
    """What one sync of the host's data did."""

    device_id: str
    account: str
    files: int
    accepted: int
    duplicate: int
    last_ack: PushAck | None


def host_device_id(hostname: str | None = None) -> str:
    """A device id for this host: its name, reduced to the characters ids allow."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", hostname or socket.gethostname()).strip("-")
    return name or "host"


class HostAgent:
    def __init__(
        self,
        ingest: IngestService,
        claude_dirs: Sequence[str] = (),
        device_id: str | None = None,
        account: str | None = None,
    ) -> None:
        self.ingest = ingest
        self.claude_dirs = tuple(claude_dirs)
        self.device_id = device_id or host_device_id()
        self.account = account or claude_account() or "default"
        self._lock = asyncio.Lock()

    async def sync(self) -> HostSync:
        """Scan the host's data directories and push everything through ingest."""
        async with self._lock:
            try:
                roots = resolve_data_dirs(self.claude_dirs)
            except NoDataDirsError as exc:
                log.warning("host.sync.no_data", extra={"error": str(exc)})
                roots = []
            # One process: forking a server that runs threads is not safe.
            found = await asyncio.to_thread(scan, roots, None, 1, False)
            wire = [WireEntry.from_entry(entry) for entry in found.entries]
            accepted = duplicate = 0
            ack: PushAck | None = None
            for start in range(0, len(wire), BATCH) or [0]:
                batch = wire[start : start + BATCH]
                push = UsagePush(entries=batch, account=self.account)
                ack = await self.ingest.push(self.device_id, push)
                accepted += ack.accepted
                duplicate += ack.duplicate
            log.info(
                "host.synced",
                extra={"files": len(found.files), "accepted": accepted, "duplicate": duplicate},
            )
            return HostSync(
                self.device_id, self.account, len(found.files), accepted, duplicate, ack
            )
