"""The API's own description: ``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``.

Off local mode they need a token like every endpoint but ``/health``. A browser
cannot add a header to a page it opens, so these three also take ``?token=``; the page
then asks for the schema with the same query (uvicorn's access lines mask it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from ccsync.api import deps
from ccsync.api.errors import ApiError

router = APIRouter(include_in_schema=False)


async def _token(request: Request) -> str | None:
    """The token the request carried (header or ``?token=``); 401 when it is not valid."""
    token = deps.bearer_token(request, allow_query=True)
    if await deps.services(request).auth.authenticate(token) is None:
        raise ApiError(
            401,
            "authentication required: send 'Authorization: Bearer <token>' or add ?token=",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token if request.query_params.get("token") else None


def _schema_url(token: str | None) -> str:
    return "/openapi.json" + (f"?{urlencode({'token': token})}" if token else "")


@router.get("/openapi.json")
async def openapi(request: Request) -> JSONResponse:
    await _token(request)
    schema: dict[str, Any] = request.app.openapi()
    return JSONResponse(schema)


@router.get("/docs")
async def swagger(request: Request) -> HTMLResponse:
    token = await _token(request)
    return get_swagger_ui_html(openapi_url=_schema_url(token), title="ccsync API")


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    token = await _token(request)
    return get_redoc_html(openapi_url=_schema_url(token), title="ccsync API")
