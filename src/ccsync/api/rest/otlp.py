"""OpenTelemetry: Claude Code's OTLP/HTTP export in, and what it says beside the entries out.

``POST /v1/logs`` and ``/v1/metrics`` take ``application/x-protobuf`` or ``application/json``
(gzip allowed) with the token in ``Authorization`` (Claude Code's
``OTEL_EXPORTER_OTLP_HEADERS``); they answer in the request's encoding, refusals as
``google.rpc.Status`` (``api.otlp``). The service authenticates by itself, so that a
missing token is refused in that shape too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ccsync.api import deps
from ccsync.api.deps import Reader
from ccsync.api.errors import status_of
from ccsync.api.otlp import refusal
from ccsync.api.typed import TypedRoute, body_doc, response_doc
from ccsync.server.errors import RefusedError, TooManyRequestsError
from ccsync.server.otlp.answers import Answer, answer_encoding, encode_answer, media_type
from ccsync.server.otlp.checks import SessionChecks, SweepList
from ccsync.server.otlp.model import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from ccsync.storage import StorageUnavailableError
from ccsync.wire import DEVICE_ID_PATTERN

router = APIRouter(tags=["opentelemetry"], route_class=TypedRoute)

Account = Annotated[str | None, Query(max_length=256, description="default: the only account")]


@router.post(
    "/v1/logs",
    summary="OTLP/HTTP logs: Claude Code's events (api_request → usage, retention_sweep)",
    openapi_extra=body_doc(ExportLogsServiceRequest),
    responses={200: response_doc(ExportLogsServiceResponse)},
)
async def export_logs(request: Request) -> Response:
    """An ``ExportLogsServiceRequest`` as ``application/x-protobuf`` or OTLP/JSON (shown),
    optionally gzip; the answer is in the request's encoding."""
    return await _export(request, "logs")


@router.post(
    "/v1/metrics",
    summary="OTLP/HTTP metrics: Claude Code's token and cost sums (a cross-check)",
    openapi_extra=body_doc(ExportMetricsServiceRequest),
    responses={200: response_doc(ExportMetricsServiceResponse)},
)
async def export_metrics(request: Request) -> Response:
    """An ``ExportMetricsServiceRequest`` as ``application/x-protobuf`` or OTLP/JSON (shown),
    optionally gzip; the answer is in the request's encoding."""
    return await _export(request, "metrics")


async def _export(request: Request, signal: str) -> Response:
    content_type = request.headers.get("content-type")
    encoding = answer_encoding(content_type)
    otlp = deps.services(request).otlp
    export = otlp.export_logs if signal == "logs" else otlp.export_metrics
    try:
        answer: Answer = await export(
            deps.bearer_token(request),
            deps.client_address(request),
            content_type,
            request.headers.get("content-encoding"),
            await request.body(),
        )
    except RefusedError as exc:
        headers = None
        if isinstance(exc, TooManyRequestsError):
            headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
        elif status_of(exc) == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return refusal(status_of(exc), exc.message, content_type, headers)
    except StorageUnavailableError as exc:  # retried by the exporter
        return refusal(503, str(exc), content_type, {"Retry-After": "5"})
    deps.telemetry(request).pushes.labels(f"otlp-{signal}").inc()
    return Response(encode_answer(answer, encoding), media_type=media_type(encoding))


@router.get(
    "/api/otlp/sessions",
    summary="Sessions Claude Code's metrics reported: their token sums beside the entries'",
)
async def sessions(
    request: Request,
    who: Reader,
    account: Account = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SessionChecks:
    return await deps.services(request).otlp_checks.sessions(account, limit)


@router.get(
    "/api/otlp/sweeps",
    summary="Retention sweeps: when a device's Claude Code deleted old transcripts",
)
async def sweeps(
    request: Request,
    who: Reader,
    account: Account = None,
    device: Annotated[str | None, Query(pattern=DEVICE_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SweepList:
    return await deps.services(request).otlp_checks.sweeps(account, device, limit)
