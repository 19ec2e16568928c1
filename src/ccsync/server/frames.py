"""The WebSocket's answers to a client, one Struct per ``type`` (the protocol: ``api.ws``).

Events (``server.events``) go to every interested socket; these go to the one that asked.
The first frame, ``initial-data`` (``InitialData``), is built as text from the stored values
(``server.initial_data``).
"""

from __future__ import annotations

from typing import Any

import msgspec


class Frame(msgspec.Struct, tag_field="type", rename="camel", kw_only=True):
    """A frame to one client: ``type`` is its tag."""


class InitialData(Frame, tag="initial-data"):
    """On connect: the live keys (``live:<key>``), as many as fit the frame's size."""

    data: dict[str, Any]
    truncated: bool
    omitted: int
    """Keys left out (read them with ``get-live-data`` or ``GET /api/metrics``)."""


class Pong(Frame, tag="pong"):
    timestamp: str


class LiveDataResponse(Frame, tag="live-data-response"):
    key: str
    data: Any


class Subscribed(Frame, tag="subscribed"):
    channel: str | list[str]
    """As the client named it (one channel, or several)."""


class Unsubscribed(Frame, tag="unsubscribed"):
    channel: str | list[str]


class Welcome(Frame, tag="welcome"):
    """The answer to an agent's ``hello``: the server's history and, for the agent's
    ``stream``, every line of it numbered up to ``mark`` is held."""

    device_id: str
    account: str
    history_id: str
    mark: int | msgspec.UnsetType | None = msgspec.UNSET


class SyncResponse(Frame, tag="sync_response"):
    """The answer to a push (``usage_update``): as ``PushAck``, the window as ``syncWindow``."""

    success: bool
    device_id: str
    account: str
    accepted: int
    duplicate: int
    rejected: int
    errors: list[str]
    sync_window: dict[str, Any] | None
    history_id: str | None
    mark: int | None


class ErrorFrame(Frame, tag="error"):
    """Invalid data (4000), unknown device (4001), authentication failed (4002), processing
    failed (4003). ``message`` says what went wrong; ``error`` is the same text except for
    an unknown type, which answers the literal ``"Unknown message type"``."""

    code: int
    error: str
    message: str


ServerFrame = (
    InitialData
    | Pong
    | LiveDataResponse
    | Subscribed
    | Unsubscribed
    | Welcome
    | SyncResponse
    | ErrorFrame
)
"""Every answer a client can get (``msgspec.json.Decoder(ServerFrame)`` reads them)."""
