"""The dashboard: one page (``/`` and ``/dashboard``) that draws the account from the JSON API.

The page holds no data: its script (``/static/app.js``, with ``/static/app.css``) reads
``/api/window``, ``/api/usage``, the reports and the jobs, and follows ``/ws`` for live
updates. Off local mode a request without a valid token (``Authorization`` header, or
``?token=`` once in the address, which the page moves out of it) is answered 401 — with
the same page, which then asks for the token. The page's files are code, not data: they
are served to anyone, read from the package on each request (an edit needs no restart),
and the policy below lets the page run only them (no inline script or style).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from ccsync.api import deps

router = APIRouter(include_in_schema=False)

ASSETS = Path(str(resources.files("ccsync.api").joinpath("dashboard")))
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def assets() -> StaticFiles:
    """The page's script and style sheet, mounted at ``/static``."""
    return StaticFiles(directory=ASSETS)


@router.get("/", response_class=HTMLResponse)
@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request) -> HTMLResponse:
    token = deps.bearer_token(request, allow_query=True)
    allowed = await deps.services(request).auth.authenticate(token) is not None
    page = (ASSETS / "index.html").read_bytes()
    return HTMLResponse(page, status_code=200 if allowed else 401, headers=HEADERS)
