"""The WebSocket connections of this server process, and delivery of events to them.

Events arrive from the live store's channel (so from every replica) and are written to
each interested connection through its own bounded queue: a slow client never holds up
the others; one that falls ``QUEUE_LIMIT`` messages behind is disconnected.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

from ccsync.api.errors import error_frame
from ccsync.server import events
from ccsync.server.access import Principal
from ccsync.server.frames import Frame

QUEUE_LIMIT = 1_000
SLOW_CLIENT_CLOSE = 1013  # "try again later"
REVOKED_CLOSE = 4002  # authentication failed
_encode = msgspec.json.Encoder().encode


def _text(value: Any) -> str:
    return _encode(value).decode()


@dataclass(eq=False)
class Connection:
    id: int
    websocket: WebSocket
    principal: Principal
    device_id: str | None = None
    """Set when the client is a device's agent (``?deviceId=`` or a ``hello``)."""
    channels: set[str] = field(default_factory=set)
    """Subscribed channels; empty means every event."""
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    dropped: bool = False
    checked_at: float = field(default_factory=time.monotonic)
    """When the token was last checked (``time.monotonic``)."""
    close_code: int | None = None
    """Why the writer closes the socket, when not a plain shutdown (1001)."""

    def wants(self, event: dict[str, Any]) -> bool:
        if event.get("type") == events.SYNC_REQUEST:
            target = event.get("deviceId")
            return self.device_id is not None and (target is None or target == self.device_id)
        return not self.channels or events.channel_of(event) in self.channels

    def offer(self, text: str) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped = True
            self.stop()

    def stop(self, code: int | None = None, last: Frame | None = None) -> None:
        """Drop what is queued and have the writer close the connection (with ``code``,
        after sending ``last``)."""
        while not self.queue.empty():
            self.queue.get_nowait()
        if last is not None:
            self.queue.put_nowait(_text(last))
        self.close_code = code
        self.queue.put_nowait(None)

    def send(self, frame: Frame) -> None:
        """Queue a reply to this client (in order with the events it receives)."""
        self.offer(_text(frame))


class SocketHub:
    def __init__(self) -> None:
        self._connections: dict[int, Connection] = {}
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._connections)

    def add(self, websocket: WebSocket, principal: Principal, device_id: str | None) -> Connection:
        connection = Connection(next(self._ids), websocket, principal, device_id)
        self._connections[connection.id] = connection
        return connection

    def remove(self, connection: Connection) -> None:
        self._connections.pop(connection.id, None)

    def agents(self) -> list[str]:
        """Devices with an agent connected to this process."""
        return sorted({c.device_id for c in self._connections.values() if c.device_id})

    def deliver(self, event: dict[str, Any]) -> int:
        """Queue ``event`` for every connection that wants it; how many it went to.

        Internal events act on connections instead: ``token_revoked`` closes every socket
        opened with that token (on every replica, since events reach them all)."""
        if event.get("type") in events.INTERNAL:
            if event.get("type") == events.TOKEN_REVOKED:
                return self.revoke(str(event.get("tokenId")))
            return 0
        text = _text(event)  # once, for every connection
        sent = 0
        for connection in list(self._connections.values()):
            if connection.wants(event):
                connection.offer(text)
                sent += 1
        return sent

    def revoke(self, token_id: str) -> int:
        """Close the sockets opened with token ``token_id``; how many there were."""
        closed = 0
        for connection in list(self._connections.values()):
            if connection.principal.token_id == token_id:
                connection.stop(REVOKED_CLOSE, error_frame(REVOKED_CLOSE, "the token was revoked"))
                closed += 1
        return closed

    def close_all(self) -> None:
        """Have every connection closed (server shutdown)."""
        for connection in list(self._connections.values()):
            connection.stop()


async def write_loop(connection: Connection) -> None:
    """Send what is queued for one connection until told to stop (``None``), or until the
    peer is gone."""
    try:
        while True:
            text = await connection.queue.get()
            if text is None:
                code = SLOW_CLIENT_CLOSE if connection.dropped else connection.close_code or 1001
                await connection.websocket.close(code=code)
                return
            await connection.websocket.send_text(text)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return  # the peer left (or the socket was closed under us): nothing to deliver
