"""One error shape for REST and the WebSocket, and what each refusal means on each.

REST answers every failure as ``{"error": message, **extra}`` with a 4xx status (a backend
that is down: 503 naming it; anything else: a logged 500, a bug). A WebSocket error frame
is ``{"type": "error", "code": 4000-4003, "error": …, "message": message, **extra}``:
``message`` says what went wrong, ``error`` is the same text except for an unknown type,
whose ``error`` is always ``"Unknown message type"`` (a text clients may rely on).

``STATUS`` and ``WS_CODE`` map the services' refusals (``server.errors``) to both.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ccsync.scheduler.capacity import CapacityFullError, JobBusyError
from ccsync.scheduler.definitions import JobError
from ccsync.scheduler.schedule import EXAMPLES
from ccsync.scheduler.service import JobNotFoundError
from ccsync.server.errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    RefusedError,
    TooLargeError,
    TooManyRequestsError,
    UnavailableError,
    UnprocessableError,
)
from ccsync.server.frames import ErrorFrame
from ccsync.server.ingest import IngestError
from ccsync.server.reporting import AccountError
from ccsync.storage import StorageUnavailableError

log = logging.getLogger("ccsync.api")

INVALID_DATA = 4000
UNKNOWN_DEVICE = 4001
AUTH_FAILED = 4002
PROCESSING_FAILED = 4003

STATUS: dict[type[RefusedError], int] = {
    InvalidRequestError: 400,
    UnprocessableError: 422,
    ForbiddenError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    TooLargeError: 413,
    TooManyRequestsError: 429,
    UnavailableError: 503,
}
WS_CODE: dict[type[RefusedError], int] = {
    InvalidRequestError: INVALID_DATA,
    UnprocessableError: INVALID_DATA,
    ForbiddenError: UNKNOWN_DEVICE,
    NotFoundError: UNKNOWN_DEVICE,
    ConflictError: PROCESSING_FAILED,
    TooLargeError: PROCESSING_FAILED,
    TooManyRequestsError: PROCESSING_FAILED,
    UnavailableError: PROCESSING_FAILED,
}
RETRY_AFTER_BUSY = 5


class ErrorBody(msgspec.Struct):
    """Every error the API answers. More fields may say more: ``details`` (which
    parameters are invalid), ``retryAfter`` (seconds), ``examples`` (of schedules)…"""

    error: str
    """What went wrong, and what to change."""
    details: list[Any] | None = None


class ApiError(Exception):
    """An error to answer with ``status`` and ``{"error": message, **extra}``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def _lookup(table: dict[type[RefusedError], int], error: RefusedError, default: int) -> int:
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    return default


def status_of(error: RefusedError) -> int:
    return _lookup(STATUS, error, 400)


def ws_code_of(error: RefusedError) -> int:
    return _lookup(WS_CODE, error, INVALID_DATA)


def error_response(status: int, message: str, /, **extra: Any) -> Response:
    headers = extra.pop("headers", None)
    body = msgspec.json.encode({"error": message, **extra})
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def error_frame(code: int, message: str, *, error: str | None = None) -> ErrorFrame:
    """A WebSocket error frame (see the module doc)."""
    return ErrorFrame(code=code, error=message if error is None else error, message=message)


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, round(seconds)))}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, **exc.extra)

    @app.exception_handler(RefusedError)
    async def refused(request: Request, exc: RefusedError) -> Response:
        extra = dict(exc.extra)
        if isinstance(exc, TooManyRequestsError):
            extra["headers"] = _retry_after(exc.retry_after)
        return error_response(status_of(exc), exc.message, **extra)

    @app.exception_handler(JobNotFoundError)
    async def no_job(request: Request, exc: JobNotFoundError) -> Response:
        return error_response(404, str(exc))

    @app.exception_handler(JobError)
    async def bad_job(request: Request, exc: JobError) -> Response:
        return error_response(400, str(exc), **exc.fields, examples=list(EXAMPLES))

    @app.exception_handler(JobBusyError)
    async def job_busy(request: Request, exc: JobBusyError) -> Response:
        return error_response(409, str(exc))

    @app.exception_handler(CapacityFullError)
    async def capacity_full(request: Request, exc: CapacityFullError) -> Response:
        return error_response(
            429,
            f"{exc}; try again when one ends",
            headers={"Retry-After": str(RETRY_AFTER_BUSY)},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        return error_response(422, f"invalid request: {where}: {first['msg']}", details=details)

    @app.exception_handler(msgspec.ValidationError)
    async def invalid_body(request: Request, exc: msgspec.ValidationError) -> Response:
        return error_response(422, f"invalid request body: {exc}")

    @app.exception_handler(msgspec.DecodeError)
    async def malformed_body(request: Request, exc: msgspec.DecodeError) -> Response:
        return error_response(400, f"malformed JSON: {exc}")

    @app.exception_handler(AccountError)
    async def account_error(request: Request, exc: AccountError) -> Response:
        return error_response(400, str(exc))

    @app.exception_handler(IngestError)
    async def ingest_error(request: Request, exc: IngestError) -> Response:
        return error_response(422, str(exc))

    @app.exception_handler(StorageUnavailableError)
    async def backend_down(request: Request, exc: StorageUnavailableError) -> Response:
        log.warning("storage.unavailable", extra={"error": str(exc)})
        return error_response(503, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("request.failed", extra={"path": request.url.path})
        return error_response(500, "internal error")
