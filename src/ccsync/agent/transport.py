"""How the agent reaches the server: a WebSocket it keeps open, and plain HTTP as fallback.

Both deliver a batch of outbox lines and return the server's acknowledgement; a batch is
acknowledged only by a successful answer (``sync_response`` or HTTP 200). Everything
else raises ``DeliveryError`` and the lines stay in the outbox.

To a server that tells its history id (``ccsync.agent.identity``), a push also says which
numbered lines of which stream it carries (``Numbering``); older servers are never sent
those fields (an older server refuses unknown fields over HTTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from ccsync import __version__

log = logging.getLogger("ccsync.agent")

RESPONSE_TIMEOUT = 30.0
MAX_FRAME_BYTES = 16 * 1024 * 1024
"""The largest frame the agent takes from a server (which sends small answers, and an
``initial-data`` it bounds to a few MiB): a hostile one cannot make it buffer more."""
APP_PING_SECONDS = 60.0
"""How often the agent tells the server it is still there (the server keeps a device
online for 300 s after it last heard from it)."""


class DeliveryError(Exception):
    """The batch did not reach the server (or was not accepted); ``retry_after`` in seconds."""

    def __init__(
        self, message: str, retry_after: float | None = None, too_large: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.too_large = too_large


@dataclass(frozen=True, slots=True)
class Identity:
    device: str
    account: str
    hostname: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Numbering:
    """Where a push stands in the agent's stream of lines (``UsagePush.stream``)."""

    stream: str
    seq: int
    """The highest outbox id among the push's lines."""
    acked: int
    """The highest outbox id acknowledged before this push."""


def push_body(rows: Sequence[str], identity: Identity, numbering: Numbering | None = None) -> str:
    """A push of outbox lines (already wire JSON), without decoding them again."""
    device = {"hostname": identity.hostname, "version": __version__}
    if identity.name:
        device["name"] = identity.name
    envelope: dict[str, object] = {"account": identity.account, "device": device}
    if numbering is not None:
        envelope.update(stream=numbering.stream, seq=numbering.seq, acked=numbering.acked)
    head = json.dumps(envelope)[:-1]
    return head + ',"entries":[' + ",".join(rows) + "]}"


class HttpSink:
    """``POST /api/usage/{device}``."""

    def __init__(
        self, server: str, token: str | None, identity: Identity, timeout: float = 30.0
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(base_url=server, headers=headers, timeout=timeout)
        self.identity = identity

    async def aclose(self) -> None:
        await self._client.aclose()

    async def push(self, rows: Sequence[str], numbering: Numbering | None = None) -> dict[str, Any]:
        try:
            response = await self._client.post(
                f"/api/usage/{self.identity.device}",
                content=push_body(rows, self.identity, numbering),
                headers={"content-type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"cannot reach the server: {exc}") from None
        if response.status_code == 200:
            ack: dict[str, Any] = response.json()
            return ack
        if response.status_code == 413:
            raise DeliveryError("batch too large for the server", too_large=True)
        retry = response.headers.get("retry-after")
        raise DeliveryError(
            f"server answered {response.status_code}: {response.text[:200]}",
            retry_after=float(retry) if retry and retry.isdigit() else None,
        )

    async def mark(self, stream: str) -> dict[str, Any] | None:
        """``GET /api/usage/{device}/mark``: the server's history id and ``stream``'s mark;
        ``None`` from a server that does not tell (an older one)."""
        try:
            response = await self._client.get(
                f"/api/usage/{self.identity.device}/mark", params={"stream": stream}
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"cannot reach the server: {exc}") from None
        if response.status_code in (404, 405):
            return None
        if response.status_code != 200:
            raise DeliveryError(f"server answered {response.status_code}: {response.text[:200]}")
        try:
            answer = response.json()
        except ValueError:
            return None
        return answer if isinstance(answer, dict) else None

    async def post_json(self, path: str, body: object) -> Any:
        try:
            response = await self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"cannot reach the server: {exc}") from None
        if response.status_code != 200:
            raise DeliveryError(f"server answered {response.status_code}: {response.text[:200]}")
        return response.json()


class SocketLink:
    """One WebSocket session: ``hello``, then pushes answered in order, ``sync_request``s heard."""

    def __init__(
        self,
        server: str,
        token: str | None,
        identity: Identity,
        on_sync_request: Callable[[], None],
        stream: str | None = None,
    ) -> None:
        scheme = "wss" if server.startswith("https") else "ws"
        query = f"deviceId={identity.device}" + (f"&stream={stream}" if stream else "")
        self.url = f"{scheme}://{server.split('://', 1)[1]}/ws?{query}"
        self.stream = stream
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.identity = identity
        self.on_sync_request = on_sync_request
        self._ws: ClientConnection | None = None
        self._answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._closed = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._closed.is_set()

    async def open(self) -> dict[str, Any] | None:
        """Connect, say hello and return the server's ``welcome`` (``None`` if it sent
        none in time); ``DeliveryError`` when the server cannot be reached."""
        try:
            ws = await connect(
                self.url,
                additional_headers=self.headers,
                open_timeout=10,
                ping_interval=20,
                max_size=MAX_FRAME_BYTES,
            )
            await ws.send(
                json.dumps(
                    {
                        "type": "hello",
                        "deviceId": self.identity.device,
                        "account": self.identity.account,
                        "hostname": self.identity.hostname,
                        "name": self.identity.name,
                        "version": __version__,
                        **({"stream": self.stream} if self.stream else {}),
                    }
                )
            )
            welcome = await self._welcome(ws)
        except (OSError, WebSocketException, TimeoutError) as exc:
            raise DeliveryError(f"WebSocket: {exc}") from None
        self._ws = ws
        self._closed.clear()
        return welcome

    @staticmethod
    async def _welcome(ws: ClientConnection) -> dict[str, Any] | None:
        """The first ``welcome`` (the answer to ``?deviceId=``), before any push is sent:
        it tells whether the server numbers pushes, and what it holds. ``None`` without
        one (a connection that fails now fails ``serve`` next)."""
        try:
            async with asyncio.timeout(RESPONSE_TIMEOUT):
                while True:
                    try:
                        message = json.loads(await ws.recv())
                    except ValueError:
                        continue
                    kind = message.get("type") if isinstance(message, dict) else None
                    if kind == "welcome":
                        return dict(message)
                    if kind == "error":
                        return None
        except (TimeoutError, OSError, WebSocketException):
            return None

    async def serve(self) -> None:
        """Listen until the connection ends; then ``DeliveryError`` (so callers reconnect)."""
        ws = self._ws
        if ws is None:
            raise DeliveryError("not connected")
        pinger = asyncio.create_task(self._ping(ws))
        try:
            await self._read(ws)
        except (OSError, WebSocketException) as exc:
            raise DeliveryError(f"WebSocket: {exc}") from None
        finally:
            pinger.cancel()
            self._ws = None
            self._closed.set()
            await self._answers.put({"type": "closed"})
            with contextlib.suppress(Exception):
                await ws.close()
        raise DeliveryError("the server closed the WebSocket")

    async def _ping(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(APP_PING_SECONDS)
            await ws.send('{"type":"ping"}')

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "sync_request":
                self.on_sync_request()
            elif kind == "sync_response" or (
                kind == "error" and message.get("code") in (4000, 4001, 4003)
            ):
                await self._answers.put(message)

    async def push(self, rows: Sequence[str], numbering: Numbering | None = None) -> dict[str, Any]:
        async with self._lock:
            ws = self._ws
            if ws is None or self._closed.is_set():
                raise DeliveryError("not connected")
            while not self._answers.empty():  # answers of a previous connection
                self._answers.get_nowait()
            body = push_body(rows, self.identity, numbering)
            try:
                await ws.send(
                    '{"type":"usage_update","deviceId":'
                    + json.dumps(self.identity.device)
                    + ","
                    + body[1:]
                )
                answer = await asyncio.wait_for(self._answers.get(), RESPONSE_TIMEOUT)
            except (WebSocketException, OSError, TimeoutError) as exc:
                raise DeliveryError(f"WebSocket push failed: {exc}") from None
            if answer.get("type") != "sync_response" or not answer.get("success"):
                raise DeliveryError(
                    f"push not accepted: {answer.get('message') or answer.get('type')}"
                )
            return answer

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
