"""One JSON error shape, ``{"error": "...", ...}``, for every failure the API answers.

Bad input is always a 4xx with a message that says what to fix; a backend that is down is
a 503 naming it; anything else is a 500 that is logged (and a bug).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ccsync.server.reporting import AccountError
from ccsync.storage import StorageUnavailableError

log = logging.getLogger("ccsync.api")


class ErrorBody(BaseModel):
    """Every error the API answers."""

    error: str
    details: list[Any] | None = None


class ApiError(Exception):
    """An error to answer with ``status`` and ``{"error": message, **extra}``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = extra.pop("headers", None)
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        return error_response(422, f"invalid request: {where}: {first['msg']}", details=details)

    @app.exception_handler(msgspec.ValidationError)
    async def invalid_body(request: Request, exc: msgspec.ValidationError) -> JSONResponse:
        return error_response(422, f"invalid request body: {exc}")

    @app.exception_handler(msgspec.DecodeError)
    async def malformed_body(request: Request, exc: msgspec.DecodeError) -> JSONResponse:
        return error_response(400, f"malformed JSON: {exc}")

    @app.exception_handler(AccountError)
    async def account_error(request: Request, exc: AccountError) -> JSONResponse:
        return error_response(400, str(exc))

    @app.exception_handler(StorageUnavailableError)
    async def backend_down(request: Request, exc: StorageUnavailableError) -> JSONResponse:
        log.warning("storage.unavailable", extra={"error": str(exc)})
        return error_response(503, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request.failed", extra={"path": request.url.path})
        return error_response(500, "internal error")
