"""The dashboard: one page (``/`` and ``/dashboard``) that draws the account from the JSON API.

The page holds no data: its script reads ``/api/window``, ``/api/usage``, the reports and
the jobs, and follows ``/ws`` for live updates. Off local mode a request without a valid
token (``Authorization`` header, or ``?token=`` once in the address, which the page moves
out of it) is answered 401 — with the same page, which then asks for the token.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ccsync.api import deps

router = APIRouter(include_in_schema=False)

PAGE = resources.files("ccsync.api").joinpath("dashboard/index.html").read_bytes()
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@router.get("/", response_class=HTMLResponse)
@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request) -> HTMLResponse:
    token = deps.bearer_token(request, allow_query=True)
    allowed = await deps.services(request).auth.authenticate(token) is not None
    return HTMLResponse(PAGE, status_code=200 if allowed else 401, headers=HEADERS)
