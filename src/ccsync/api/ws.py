"""The WebSocket protocol at ``/`` and ``/ws``.

On connect the server sends ``initial-data``: the live keys, up to ``initial_data_bytes``
(``server.initial_data``; ``omitted`` counts the rest). Then, from the client:

=========================== =================================================================
``ping``                    → ``pong``
``get-live-data {key}``     → ``live-data-response {key, data}``
``subscribe {channel}``     → ``subscribed {channel}``; from then on only subscribed channels'
                            events arrive (``unsubscribe`` undoes it)
``hello {deviceId, …}``     an agent names its device → ``welcome {deviceId, historyId}``
                            (and ``mark`` for its ``stream``); the device is online while the
                            socket is open (also ``?deviceId=&stream=`` on connect)
``usage_update`` /          a push (``entries``, ``blocks`` or ``tokens``, as REST) →
``update_usage {deviceId}`` ``sync_response {success, syncWindow, accepted, duplicate, rejected,
                            historyId, mark}``
=========================== =================================================================

The answers are ``server.frames``; what they do is the services' (``server.devices``,
``server.ingest``, ``server.live_data``). Errors are ``{"type": "error", "code": 4000-4003,
"error": …, "message": …}`` (``api.errors``: invalid data, unknown device, authentication
failed, processing failed) and the connection stays open; an unknown type answers
``"error": "Unknown message type"``. A connection without a valid token (when tokens are
required) gets a 4002 error and is closed with code 4002.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ccsync.api import deps
from ccsync.api.errors import (
    AUTH_FAILED,
    INVALID_DATA,
    PROCESSING_FAILED,
    error_frame,
    ws_code_of,
)
from ccsync.api.hub import REVOKED_CLOSE, Connection, write_loop
from ccsync.server import events
from ccsync.server.errors import RefusedError
from ccsync.server.frames import LiveDataResponse, Pong, Subscribed, SyncResponse, Unsubscribed
from ccsync.services import Services
from ccsync.storage import StorageUnavailableError
from ccsync.usage.timestamps import iso_millis
from ccsync.wire import decode_push, device_id_problem

log = logging.getLogger("ccsync.ws")
router = APIRouter()

UNKNOWN_TYPE = "Unknown message type"
"""What an unknown type answers in ``error``: always this text, which clients may rely on."""
RECHECK_SECONDS = 30.0
STREAM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PUSH_FIELDS = (
    *("entries", "blocks", "tokens", "account", "device", "version"),
    *("stream", "seq", "acked"),
)
Handler = Callable[[Services, Connection, dict[str, Any]], Awaitable[None]]


@router.websocket("/")
@router.websocket("/ws")
async def socket(websocket: WebSocket) -> None:
    services = deps.services(websocket)
    hub = deps.hub(websocket)
    telemetry = deps.telemetry(websocket)
    principal = await services.auth.authenticate(deps.bearer_token(websocket, allow_query=True))
    await websocket.accept()
    if principal is None:
        refused = error_frame(
            AUTH_FAILED, "authentication failed: pass a token (header or ?token=)"
        )
        await websocket.send_text(msgspec.json.encode(refused).decode())
        await websocket.close(code=AUTH_FAILED)
        return
    connection = hub.add(websocket, principal, None)
    telemetry.sockets.inc()
    writer = asyncio.create_task(write_loop(connection))
    try:
        connection.offer(await deps.initial_data(websocket).frame())
        announced = websocket.query_params.get("deviceId")
        if announced:
            stream = websocket.query_params.get("stream")
            hello = {"type": "hello", "deviceId": announced, "stream": stream}
            await _dispatch(services, connection, _hello, hello)
        while True:
            try:
                frame = await websocket.receive()
            except (WebSocketDisconnect, RuntimeError):
                break
            if frame["type"] == "websocket.disconnect":
                break
            if connection.close_code is not None:
                break  # revoked: nothing more is taken from this socket
            if not await _still_valid(services, connection):
                break
            text = frame.get("text")
            if text is None:
                connection.send(
                    error_frame(INVALID_DATA, "binary frames are not understood: send JSON text")
                )
                continue
            await _handle(services, connection, text)
            if writer.done():
                break
    finally:
        hub.remove(connection)
        telemetry.sockets.dec()
        if not writer.done():
            connection.stop()
            try:
                await asyncio.wait_for(writer, timeout=2)
            except (TimeoutError, Exception):  # the peer is gone; nothing to deliver
                writer.cancel()
        if connection.device_id:
            await services.devices.offline(connection.device_id)


async def _still_valid(services: Services, connection: Connection) -> bool:
    """Whether the socket's token still holds, checked at most every ``RECHECK_SECONDS``
    (revocation closes sockets at once through ``token_revoked``; this covers a replica
    that missed the event)."""
    now = time.monotonic()
    if now - connection.checked_at < RECHECK_SECONDS:
        return True
    connection.checked_at = now
    if await services.auth.still_valid(connection.principal):
        return True
    connection.stop(REVOKED_CLOSE, error_frame(AUTH_FAILED, "the token was revoked"))
    return False


async def _handle(services: Services, connection: Connection, text: str) -> None:
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
        connection.send(error_frame(INVALID_DATA, "not JSON: send a JSON object with a 'type'"))
        return
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        connection.send(error_frame(INVALID_DATA, "send a JSON object with a string 'type'"))
        return
    await _handle_message(services, connection, message)


async def _handle_message(
    services: Services, connection: Connection, message: dict[str, Any]
) -> None:
    kind = message["type"]
    handler = _HANDLERS.get(kind)
    deps.telemetry(connection.websocket).ws_messages.labels(kind if handler else "unknown").inc()
    if handler is None:
        message_text = f"{UNKNOWN_TYPE}: {kind[:100]}"
        connection.send(error_frame(INVALID_DATA, message_text, error=UNKNOWN_TYPE))
        return
    await _dispatch(services, connection, handler, message)


async def _dispatch(
    services: Services, connection: Connection, handler: Handler, message: dict[str, Any]
) -> None:
    """Run ``handler``; what it raises becomes an error frame (the socket stays open)."""
    kind = message["type"]
    try:
        await handler(services, connection, message)
    except RefusedError as refused:
        connection.send(error_frame(ws_code_of(refused), refused.message))
    except StorageUnavailableError as exc:
        connection.send(error_frame(PROCESSING_FAILED, str(exc)))
    except UnicodeError:  # an escaped lone surrogate (``_text``)
        connection.send(error_frame(INVALID_DATA, f"'{kind}' holds text that is not valid Unicode"))
    except Exception:
        log.exception("ws.message_failed", extra={"type": kind})
        connection.send(error_frame(PROCESSING_FAILED, f"could not process '{kind}'"))


async def _ping(services: Services, connection: Connection, message: dict[str, Any]) -> None:
    if connection.device_id is not None:  # an agent's heartbeat keeps its device online
        await services.devices.heartbeat(connection.device_id)
    connection.send(Pong(timestamp=iso_millis(services.clock.now_ms())))


async def _get_live_data(
    services: Services, connection: Connection, message: dict[str, Any]
) -> None:
    key = message.get("key")
    if not isinstance(key, str) or not key or len(key) > 512:
        connection.send(
            error_frame(INVALID_DATA, "get-live-data needs a 'key' (a non-empty string)")
        )
        return
    value = await services.live_data.get(key)
    connection.send(LiveDataResponse(key=value.key, data=value.data))


async def _subscribe(services: Services, connection: Connection, message: dict[str, Any]) -> None:
    channel = message.get("channel")
    given = channel if isinstance(channel, list) else [channel]
    names = [n for n in given if isinstance(n, str) and n in events.KNOWN_CHANNELS]
    if not names or len(names) != len(given):
        known = ", ".join(sorted(events.KNOWN_CHANNELS))
        connection.send(
            error_frame(INVALID_DATA, f"unknown channel {str(channel)[:100]!r}: one of {known}")
        )
        return
    assert isinstance(channel, str | list)
    if message["type"] == "subscribe":
        connection.channels.update(names)
        connection.send(Subscribed(channel=channel))
    else:
        connection.channels.difference_update(names)
        connection.send(Unsubscribed(channel=channel))


async def _hello(services: Services, connection: Connection, message: dict[str, Any]) -> None:
    stream = message.get("stream")
    welcome = await services.devices.hello(
        connection.principal,
        deps.client_address(connection.websocket),
        message.get("deviceId"),
        account=_text(message.get("account")),
        name=_text(message.get("name")),
        hostname=_text(message.get("hostname")),
        version=_text(message.get("version")),
        stream=stream if isinstance(stream, str) and STREAM.match(stream) else None,
        announce=connection.device_id is None,
    )
    connection.device_id = welcome.device_id
    connection.send(welcome)


async def _usage_update(
    services: Services, connection: Connection, message: dict[str, Any]
) -> None:
    device_id = message.get("deviceId") or connection.device_id
    problem = device_id_problem(device_id)
    if problem is not None:
        connection.send(error_frame(INVALID_DATA, f"usage_update needs a 'deviceId': {problem}"))
        return
    assert isinstance(device_id, str)
    wait = deps.push_limiter(connection.websocket).allow(device_id)
    if wait is not None:
        connection.send(error_frame(PROCESSING_FAILED, f"too many pushes: retry in {wait:.1f} s"))
        return
    body = json.dumps({k: v for k, v in message.items() if k in PUSH_FIELDS})
    try:
        push, rejected, errors = decode_push(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        connection.send(error_frame(INVALID_DATA, f"invalid push: {exc}"))
        return
    client = deps.client_address(connection.websocket)
    ack = await services.ingest.receive(
        connection.principal, client, device_id, push, rejected, errors
    )
    telemetry = deps.telemetry(connection.websocket)
    telemetry.pushes.labels("websocket").inc()
    telemetry.count_ingest(ack.accepted, ack.duplicate, ack.rejected)
    connection.send(
        SyncResponse(
            success=ack.success,
            device_id=device_id,
            account=ack.account,
            accepted=ack.accepted,
            duplicate=ack.duplicate,
            rejected=ack.rejected,
            errors=ack.errors,
            sync_window=ack.window,
            history_id=ack.history_id,
            mark=ack.mark,
        )
    )


def _text(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    value[:1024].encode()  # a lone surrogate: UnicodeEncodeError, refused as invalid data
    return value[:1024]


_HANDLERS: dict[str, Handler] = {
    "ping": _ping,
    "get-live-data": _get_live_data,
    "subscribe": _subscribe,
    "unsubscribe": _subscribe,
    "hello": _hello,
    "usage_update": _usage_update,
    "update_usage": _usage_update,
}
