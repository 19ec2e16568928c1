"""The size of what one client may send (pushes per second: ``server.buckets``)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ccsync.api import otlp
from ccsync.server.buckets import RateLimiter

__all__ = ["BodySizeLimit", "BodyTooLargeError", "RateLimiter"]


class BodyTooLargeError(Exception):
    pass


class BodySizeLimit:
    """ASGI middleware: a body over ``max_bytes`` gets 413 before it is read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        otlp_path = otlp.is_otlp(scope)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send, otlp_path, content_type)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError:
            if not started:
                await self._reject(send, otlp_path, content_type)

    async def _reject(self, send: Send, otlp_path: bool, content_type: str) -> None:
        message = f"request body larger than {self.max_bytes} bytes"
        media, body = b"application/json", json.dumps({"error": message}).encode()
        if otlp_path:  # a google.rpc.Status, as OTLP exporters read refusals
            shown, body = otlp.refusal_body(413, message, content_type)
            media = shown.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", media),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
