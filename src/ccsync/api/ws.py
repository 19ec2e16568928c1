"""The WebSocket protocol at ``/`` and ``/ws`` (SPEC §5).

On connect the server sends ``initial-data``: the live keys, up to ``initial_data_bytes``
(``api.initial_data``; ``omitted`` counts the rest). Then, from the client:

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

Errors are ``{"type": "error", "code": 4000-4003, "message": …}`` — invalid data,
unknown device, authentication failed, processing failed — and the connection stays open.
An unknown type answers ``{"error": "Unknown message type", …}``. A connection without a
valid token (when tokens are required) gets a 4002 error and is closed with code 4002.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ccsync.api import deps
from ccsync.api.admission import Admitted, admit
from ccsync.api.errors import ApiError
from ccsync.api.hub import REVOKED_CLOSE, Connection, write_loop
from ccsync.server import events
from ccsync.server.ingest import DeviceState
from ccsync.server.live_keys import device_key
from ccsync.services import Services
from ccsync.storage import StorageUnavailableError
from ccsync.usage.timestamps import iso_millis
from ccsync.wire import decode_push, device_id_problem

log = logging.getLogger("ccsync.ws")
router = APIRouter()

INVALID_DATA = 4000
UNKNOWN_DEVICE = 4001
AUTH_FAILED = 4002
PROCESSING_FAILED = 4003

RECHECK_SECONDS = 30.0
STREAM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PUSH_FIELDS = (
    *("entries", "blocks", "tokens", "account", "device", "version"),
    *("stream", "seq", "acked"),
)


def error(code: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, **extra}


@router.websocket("/")
@router.websocket("/ws")
async def socket(websocket: WebSocket) -> None:
    services = deps.services(websocket)
    hub = deps.hub(websocket)
    telemetry = deps.telemetry(websocket)
    principal = await services.auth.authenticate(deps.bearer_token(websocket, allow_query=True))
    await websocket.accept()
    if principal is None:
        await websocket.send_json(
            error(AUTH_FAILED, "authentication failed: pass a token (header or ?token=)")
        )
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
            await _hello(services, connection, {"deviceId": announced, "stream": stream})
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
                    error(INVALID_DATA, "binary frames are not understood: send JSON text")
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
            await _went_offline(services, connection.device_id)


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
    connection.stop(REVOKED_CLOSE, error(AUTH_FAILED, "the token was revoked"))
    return False


async def _handle(services: Services, connection: Connection, text: str) -> None:
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
        connection.send(error(INVALID_DATA, "not JSON: send a JSON object with a 'type'"))
        return
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        connection.send(error(INVALID_DATA, "send a JSON object with a string 'type'"))
        return
    kind = message["type"]
    handler = _HANDLERS.get(kind)
    deps.telemetry(connection.websocket).ws_messages.labels(kind if handler else "unknown").inc()
    if handler is None:
        connection.send(
            {
                "type": "error",
                "code": INVALID_DATA,
                "error": "Unknown message type",
                "message": f"Unknown message type: {kind[:100]}",
            }
        )
        return
    try:
        await handler(services, connection, message)
    except StorageUnavailableError as exc:
        connection.send(error(PROCESSING_FAILED, str(exc)))
    except UnicodeError:  # an escaped lone surrogate (``_text``)
        connection.send(error(INVALID_DATA, f"'{kind}' holds text that is not valid Unicode"))
    except Exception:
        log.exception("ws.message_failed", extra={"type": kind})
        connection.send(error(PROCESSING_FAILED, f"could not process '{kind}'"))


async def _ping(services: Services, connection: Connection, message: dict[str, Any]) -> None:
    if connection.device_id is not None:  # an agent's heartbeat keeps its device online
        device = await services.history.register_device(
            connection.device_id,
            await services.ingest.account_of(connection.device_id, None),
            services.clock.now_ms(),
        )
        await services.live.set(device_key(device.id), DeviceState(device, online=True).to_json())
    connection.send({"type": "pong", "timestamp": iso_millis(services.clock.now_ms())})


async def _get_live_data(
    services: Services, connection: Connection, message: dict[str, Any]
) -> None:
    key = message.get("key")
    if not isinstance(key, str) or not key or len(key) > 512:
        connection.send(error(INVALID_DATA, "get-live-data needs a 'key' (a non-empty string)"))
        return
    connection.send(
        {"type": "live-data-response", "key": key, "data": await services.live.get(key)}
    )


async def _subscribe(services: Services, connection: Connection, message: dict[str, Any]) -> None:
    channel = message.get("channel")
    given = channel if isinstance(channel, list) else [channel]
    names = [n for n in given if isinstance(n, str) and n in events.KNOWN_CHANNELS]
    if not names or len(names) != len(given):
        known = ", ".join(sorted(events.KNOWN_CHANNELS))
        connection.send(
            error(INVALID_DATA, f"unknown channel {str(channel)[:100]!r}: one of {known}")
        )
        return
    subscribe = message["type"] == "subscribe"
    for name in names:
        if subscribe:
            connection.channels.add(name)
        else:
            connection.channels.discard(name)
    connection.send({"type": "subscribed" if subscribe else "unsubscribed", "channel": channel})


async def _hello(services: Services, connection: Connection, message: dict[str, Any]) -> None:
    requested = _text(message.get("account"))
    admitted = await _admit(services, connection, message.get("deviceId"), requested)
    if admitted is None:
        return
    device_id = admitted.device_id
    now = services.clock.now_ms()
    account = await services.ingest.account_of(device_id, requested)
    device = await services.history.register_device(
        device_id,
        account,
        now,
        name=_text(message.get("name")),
        hostname=_text(message.get("hostname")),
        version=_text(message.get("version")),
    )
    welcome: dict[str, Any] = {
        "type": "welcome",
        "deviceId": device_id,
        "account": account,
        "historyId": await services.history.history_id(),
    }
    stream = message.get("stream")
    if isinstance(stream, str) and STREAM.match(stream):  # what it holds of the agent's lines
        welcome["mark"] = await services.history.device_mark(device_id, stream)
    first = connection.device_id is None
    connection.device_id = device_id
    await services.live.set(device_key(device_id), DeviceState(device, online=True).to_json())
    if first:
        await services.live.publish(events.device_event(events.DEVICE_CONNECTED, device_id, now))
    connection.send(welcome)


async def _usage_update(
    services: Services, connection: Connection, message: dict[str, Any]
) -> None:
    device_id = message.get("deviceId") or connection.device_id
    problem = device_id_problem(device_id)
    if problem is not None:
        connection.send(error(INVALID_DATA, f"usage_update needs a 'deviceId': {problem}"))
        return
    assert isinstance(device_id, str)
    wait = deps.push_limiter(connection.websocket).allow(device_id)
    if wait is not None:
        connection.send(error(PROCESSING_FAILED, f"too many pushes: retry in {wait:.1f} s"))
        return
    body = json.dumps({k: v for k, v in message.items() if k in PUSH_FIELDS})
    try:
        push, rejected, errors = decode_push(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        connection.send(error(INVALID_DATA, f"invalid push: {exc}"))
        return
    if await _admit(services, connection, device_id, push.account) is None:
        return
    ack = await services.ingest.push(device_id, push, rejected, errors)
    telemetry = deps.telemetry(connection.websocket)
    telemetry.pushes.labels("websocket").inc()
    telemetry.count_ingest(ack.accepted, ack.duplicate, ack.rejected)
    connection.send(
        {
            "type": "sync_response",
            "success": ack.success,
            "deviceId": device_id,
            "account": ack.account,
            "accepted": ack.accepted,
            "duplicate": ack.duplicate,
            "rejected": ack.rejected,
            "errors": ack.errors,
            "syncWindow": ack.window,
            "historyId": ack.history_id,
            "mark": ack.mark,
        }
    )


async def _went_offline(services: Services, device_id: str) -> None:
    try:
        now = services.clock.now_ms()
        device = await services.history.get_device(device_id)
        if device is not None:
            await services.live.set(
                device_key(device_id), DeviceState(device, online=False).to_json()
            )
        await services.live.publish(events.device_event(events.DEVICE_DISCONNECTED, device_id, now))
    except StorageUnavailableError:
        log.warning("ws.offline_not_recorded", extra={"device": device_id})


_WS_CODES = {400: INVALID_DATA, 403: UNKNOWN_DEVICE, 429: PROCESSING_FAILED}


async def _admit(
    services: Services, connection: Connection, device_id: object, account: str | None
) -> Admitted | None:
    """``admission.admit`` for a socket: an error frame (and ``None``) when refused."""
    try:
        return await admit(
            services.history,
            deps.device_limiter(connection.websocket),
            connection.principal,
            device_id,
            account,
            deps.client_address(connection.websocket),
        )
    except ApiError as refused:
        connection.send(error(_WS_CODES.get(refused.status, INVALID_DATA), refused.message))
        return None


def _text(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    value[:1024].encode()  # a lone surrogate: UnicodeEncodeError, refused as invalid data
    return value[:1024]


_HANDLERS = {
    "ping": _ping,
    "get-live-data": _get_live_data,
    "subscribe": _subscribe,
    "unsubscribe": _subscribe,
    "hello": _hello,
    "usage_update": _usage_update,
    "update_usage": _usage_update,
}
