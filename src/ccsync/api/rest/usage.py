"""Devices' usage: pushes in, per-device state out, the account window, sync requests."""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Path, Query, Request

from ccsync.api import deps
from ccsync.api.deps import Reader
from ccsync.api.typed import TypedRoute, body_doc, response_doc
from ccsync.server.admission import check_device
from ccsync.server.devices import DeviceList, DeviceSummary, StreamMarkView, SyncRequested
from ccsync.server.errors import (
    ConflictError,
    InvalidRequestError,
    TooManyRequestsError,
    UnprocessableError,
)
from ccsync.server.host_agent import HostSyncView
from ccsync.server.ingest import LimitsAccepted
from ccsync.server.report_views import ReportView
from ccsync.server.reporting import ReportQuery
from ccsync.server.window import WindowView
from ccsync.usage import ReportKind
from ccsync.usage.reports import Report
from ccsync.wire import (
    DEVICE_ID_PATTERN,
    PushAck,
    RateLimits,
    UsagePush,
    decode_limits,
    decode_push,
)

router = APIRouter(tags=["usage"], route_class=TypedRoute)

DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN, description="letters, digits and ._:@-")]
Account = Annotated[str | None, Query(max_length=256, description="default: the only account")]
Day = Annotated[str | None, Query(pattern=r"^\d{4}-?\d{2}-?\d{2}$", description="YYYYMMDD")]
EMPTY_PUSH = 'empty body: send {"entries": [...]}, {"blocks": [...]} or {"tokens": N}'


@router.get("/api/usage", summary="Every device: online, last push, current block, today")
async def all_devices(request: Request, who: Reader, account: Account = None) -> DeviceList:
    return await deps.services(request).devices.summaries(account)


@router.put("/api/usage/sync", summary="Ask every connected agent to push now")
async def request_sync(request: Request, who: Reader) -> SyncRequested:
    return await deps.services(request).devices.request_sync()


@router.post("/api/usage/ccusage", summary="Ingest the server host's own Claude usage now")
async def sync_host(request: Request, who: Reader) -> HostSyncView:
    host = deps.services(request).host_agent
    if host is None:
        raise ConflictError("the server runs with --no-local-agent: it reads no data of its own")
    return await host.sync_now()


@router.get("/api/usage/{deviceId}", summary="One device")
async def one_device(request: Request, who: Reader, deviceId: DeviceId) -> DeviceSummary:  # noqa: N803 (the API's path name)
    return await deps.services(request).devices.summary(deviceId)


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
) -> StreamMarkView:
    """``historyId``: random, made with the database (a new one: a new, wiped or replaced
    database). ``mark``: every line of the stream numbered up to it is stored."""
    return await deps.services(request).devices.mark(who, deviceId, stream)


@router.post(
    "/api/usage/{deviceId}",
    summary="Push usage for a device: entries, ccusage blocks, or a token counter",
    openapi_extra=body_doc(UsagePush),
)
async def push(request: Request, who: Reader, deviceId: DeviceId) -> PushAck:  # noqa: N803
    check_device(who, deviceId)
    wait = deps.push_limiter(request).allow(deviceId)
    if wait is not None:
        raise TooManyRequestsError("too many pushes", retry_after=wait)
    body = await request.body()
    if not body:
        raise InvalidRequestError(EMPTY_PUSH)
    try:
        payload, rejected, errors = decode_push(body)
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: it goes first
        raise UnprocessableError(f"invalid push: {exc}") from None
    services = deps.services(request)
    client = deps.client_address(request)
    ack = await services.ingest.receive(who, client, deviceId, payload, rejected, errors)
    telemetry = deps.telemetry(request)
    telemetry.pushes.labels("http").inc()
    telemetry.count_ingest(ack.accepted, ack.duplicate, ack.rejected)
    return ack


@router.post(
    "/api/limits/{deviceId}",
    summary="Report the official percentages Claude Code's status line showed",
    openapi_extra=body_doc(RateLimits),
)
async def official_limits(request: Request, who: Reader, deviceId: DeviceId) -> LimitsAccepted:  # noqa: N803
    try:
        limits = decode_limits(await request.body())
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: it goes first
        raise UnprocessableError(f"invalid limits: {exc}") from None
    services = deps.services(request)
    client = deps.client_address(request)
    return await services.ingest.receive_limits(who, client, deviceId, limits)


@router.get("/api/window", summary="The account's current 5-hour window")
async def window(request: Request, who: Reader, account: Account = None) -> WindowView:
    return await deps.services(request).reporter.account_window(account)


@router.get(
    "/api/reports/{kind}",
    summary="A ccusage report over all devices (ccusage's JSON shape)",
    responses={200: response_doc(ReportView)},
)
async def report(
    request: Request,
    who: Reader,
    kind: ReportKind,
    timezone: Annotated[
        str | None, Query(max_length=64, description="IANA zone; default the configured one (UTC)")
    ] = None,
    since: Day = None,
    until: Day = None,
    start_of_week: Annotated[
        str, Query(pattern=r"^(?i:monday|tuesday|wednesday|thursday|friday|saturday|sunday)$")
    ] = "sunday",
    order: Annotated[str, Query(pattern=r"^(asc|desc)$")] = "asc",
    device: Annotated[str | None, Query(pattern=DEVICE_ID_PATTERN)] = None,
    account: Account = None,
) -> Report:
    query = ReportQuery(timezone, since, until, start_of_week, order, device, account)
    return await deps.services(request).reporter.answer(kind, query)
