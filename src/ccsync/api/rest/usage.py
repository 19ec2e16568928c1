"""Devices' usage: pushes in, per-device state out, the account window, sync requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from ccsync.api import deps
from ccsync.api.admission import admit
from ccsync.api.deps import Reader
from ccsync.api.errors import ApiError
from ccsync.server import events
from ccsync.server.access import Principal
from ccsync.server.ingest import DeviceState, IngestError
from ccsync.server.live_keys import device_key
from ccsync.server.live_values import device_state, online_devices
from ccsync.services import Services
from ccsync.storage.history.base import Device
from ccsync.usage import ReportKind, ReportOptions
from ccsync.usage.reports import Order, Weekday
from ccsync.usage.timestamps import UnknownTimezoneError, iso_millis, resolve_timezone
from ccsync.wire import decode_limits, decode_push, device_id_problem, encode

router = APIRouter(tags=["usage"])

DeviceId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9._:@-]{1,128}$", description="letters, digits and ._:@-")
]
Account = Annotated[str | None, Query(max_length=256, description="default: the only account")]


async def _admit(request: Request, who: Principal, device_id: str, account: str | None) -> None:
    await admit(
        deps.services(request).history,
        deps.device_limiter(request),
        who,
        device_id,
        account,
        deps.client_address(request),
    )


async def _account_devices(
    services: Services, account: str, devices: list[Device]
) -> list[dict[str, Any]]:
    """``devices`` (all of ``account``) as ``/api/usage`` shows them, in a fixed number of
    queries however many there are: the window, today, the block counts, the live states."""
    window = await services.reporter.window(account)
    today = await services.reporter.today_by_device(account)
    blocks = await services.history.block_counts(account)
    keys = [device_key(device.id) for device in devices]
    states = dict(zip(keys, await services.live.get_many(keys), strict=True))
    shares = {share["deviceId"]: share for share in window.get("devices", [])}
    summaries = []
    for device, key in zip(devices, keys, strict=True):
        state = device_state(key, states[key])
        share = shares.get(device.id)
        summaries.append(
            {
                **DeviceState(device, state is not None and state.online).to_json(),
                "currentBlock": None
                if share is None
                else {
                    "start": window["start"],
                    "end": window["end"],
                    "tokens": share["tokens"],
                    "costUSD": share["costUSD"],
                    "source": share["source"],
                },
                "today": today.get(device.id, {"tokens": 0, "costUSD": 0.0}),
                "ccusageBlocks": blocks.get(device.id, 0),
            }
        )
    return summaries


@router.get("/api/usage", summary="Every device: online, last push, current block, today")
async def all_devices(request: Request, who: Reader, account: Account = None) -> dict[str, Any]:
    services = deps.services(request)
    by_account: dict[str, list[Device]] = {}
    for device in await services.history.list_devices(account or None):
        by_account.setdefault(device.account, []).append(device)
    devices = []
    for name in sorted(by_account):
        devices += await _account_devices(services, name, by_account[name])
    return {"devices": devices, "timestamp": iso_millis(services.clock.now_ms())}


@router.put("/api/usage/sync", summary="Ask every connected agent to push now")
async def request_sync(request: Request, who: Reader) -> dict[str, Any]:
    services = deps.services(request)
    now = services.clock.now_ms()
    online = await online_devices(services.history, services.live)
    await services.live.publish(events.sync_request(now))
    await services.live.publish(events.sync_status(len(online), now))
    return {"success": True, "requested": len(online), "devices": online}


@router.post("/api/usage/ccusage", summary="Ingest the server host's own Claude usage now")
async def sync_host(request: Request, who: Reader) -> dict[str, Any]:
    services = deps.services(request)
    if services.host_agent is None:
        raise ApiError(409, "the server runs with --no-local-agent: it reads no data of its own")
    done = await services.host_agent.sync()
    window = await services.reporter.window(done.account)
    return {
        "success": True,
        "deviceId": done.device_id,
        "account": done.account,
        "files": done.files,
        "accepted": done.accepted,
        "duplicate": done.duplicate,
        "window": window,
    }


@router.get("/api/usage/{deviceId}", summary="One device")
async def one_device(request: Request, who: Reader, deviceId: DeviceId) -> dict[str, Any]:  # noqa: N803 (the SPEC's path name)
    services = deps.services(request)
    device = await services.history.get_device(deviceId)
    if device is None:
        raise ApiError(404, f"unknown device {deviceId!r}")
    (summary,) = await _account_devices(services, device.account, [device])
    return summary


@router.get(
    "/api/usage/{deviceId}/mark",
    summary="What the server holds of an agent's numbered lines: its history id and the mark",
)
async def mark(
    request: Request,
    who: Reader,
    deviceId: DeviceId,  # noqa: N803
    stream: Annotated[
        str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the agent's stream id")
    ],
) -> dict[str, Any]:
    """``historyId``: random, made with the database (a new one: a new, wiped or replaced
    database). ``mark``: every line of the stream numbered up to it is stored."""
    services = deps.services(request)
    if not who.may_push_for(deviceId):
        raise ApiError(403, f"this token speaks for another device, not {deviceId!r}")
    return {
        "historyId": await services.history.history_id(),
        "deviceId": deviceId,
        "stream": stream,
        "mark": await services.history.device_mark(deviceId, stream),
    }


@router.post(
    "/api/usage/{deviceId}",
    summary="Push usage for a device: entries, ccusage blocks, or a token counter",
    openapi_extra={"x-ccsync-body": "UsagePush"},
    responses={200: {"x-ccsync-model": "PushAck"}},
)
async def push(request: Request, who: Reader, deviceId: DeviceId) -> Response:  # noqa: N803
    services = deps.services(request)
    problem = device_id_problem(deviceId)
    if problem is not None:
        raise ApiError(400, problem)
    if not who.may_push_for(deviceId):
        raise ApiError(403, f"this token speaks for another device, not {deviceId!r}")
    wait = deps.push_limiter(request).allow(deviceId)
    if wait is not None:
        raise ApiError(
            429,
            "too many pushes",
            retryAfter=round(wait, 2),
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    body = await request.body()
    if not body:
        raise ApiError(
            400, 'empty body: send {"entries": [...]}, {"blocks": [...]} or {"tokens": N}'
        )
    try:
        payload, rejected, errors = decode_push(body)
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: it goes first
        raise ApiError(422, f"invalid push: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None
    await _admit(request, who, deviceId, payload.account)
    ack = await services.ingest.push(deviceId, payload, rejected, errors)
    telemetry = deps.telemetry(request)
    telemetry.pushes.labels("http").inc()
    telemetry.count_ingest(ack.accepted, ack.duplicate, ack.rejected)
    return Response(encode(ack), media_type="application/json")


@router.post(
    "/api/limits/{deviceId}",
    summary="Report the official percentages Claude Code's status line showed",
    openapi_extra={"x-ccsync-body": "RateLimits"},
)
async def official_limits(request: Request, who: Reader, deviceId: DeviceId) -> dict[str, Any]:  # noqa: N803
    services = deps.services(request)
    body = await request.body()
    try:
        limits = decode_limits(body)
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: it goes first
        raise ApiError(422, f"invalid limits: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None
    await _admit(request, who, deviceId, limits.account)
    try:
        window = await services.ingest.report_limits(deviceId, limits)
    except IngestError as exc:
        raise ApiError(422, f"invalid limits: {exc}") from None
    return {"success": True, "window": window}


@router.get("/api/window", summary="The account's current 5-hour window")
async def window(request: Request, who: Reader, account: Account = None) -> dict[str, Any]:
    services = deps.services(request)
    return await services.reporter.window(await services.reporter.resolve_account(account))


@router.get(
    "/api/reports/{kind}", summary="A ccusage report over all devices (ccusage's JSON shape)"
)
async def report(
    request: Request,
    who: Reader,
    kind: ReportKind,
    timezone: Annotated[
        str | None, Query(max_length=64, description="IANA zone; default the configured one (UTC)")
    ] = None,
    since: Annotated[
        str | None, Query(pattern=r"^\d{4}-?\d{2}-?\d{2}$", description="YYYYMMDD")
    ] = None,
    until: Annotated[
        str | None, Query(pattern=r"^\d{4}-?\d{2}-?\d{2}$", description="YYYYMMDD")
    ] = None,
    start_of_week: Annotated[
        str, Query(pattern=r"^(?i:monday|tuesday|wednesday|thursday|friday|saturday|sunday)$")
    ] = "sunday",
    order: Annotated[str, Query(pattern=r"^(asc|desc)$")] = "asc",
    device: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9._:@-]{1,128}$")] = None,
    account: Account = None,
) -> dict[str, Any]:
    services = deps.services(request)
    if timezone is None:
        stored = (await services.history.get_settings()).get("timezone")
        timezone = stored if isinstance(stored, str) else "UTC"
    try:
        resolve_timezone(timezone)
    except UnknownTimezoneError as exc:
        raise ApiError(400, str(exc)) from None
    options = ReportOptions(
        timezone=timezone,
        since=_day(since, "since"),
        until=_day(until, "until"),
        start_of_week=Weekday[start_of_week.upper()],
        order=Order(order),
    )
    name = await services.reporter.resolve_account(account)
    if device is not None and await services.history.get_device(device) is None:
        raise ApiError(404, f"unknown device {device!r}")
    return await services.reporter.report(kind, name, options, device=device)


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    digits = value.replace("-", "")
    try:
        return datetime.strptime(digits, "%Y%m%d").date()
    except ValueError:
        raise ApiError(400, f"{name}: {value!r} is not a date (YYYYMMDD)") from None
