"""Limits and alerts: what is left of every window (``/api/limits``), and the alerts
before one runs out (``/api/alerts``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ccsync.api import deps
from ccsync.api.deps import Admin, Reader
from ccsync.api.typed import TypedRoute, json_body
from ccsync.server.alerts import AlertConfig, AlertConfigView, AlertView, TestResult
from ccsync.server.limit_views import LimitsView
from ccsync.server.usage_poller import PollerChange, PollerView

router = APIRouter(tags=["limits"], route_class=TypedRoute)

Account = Annotated[str | None, Query(max_length=256, description="default: the only account")]


@router.get(
    "/api/limits",
    summary="What is left of every window: official readings, estimates, pace, projection",
)
async def limits(request: Request, who: Reader, account: Account = None) -> LimitsView:
    return await deps.services(request).limits.account_limits(account)


@router.get("/api/limits/poller", summary="The opt-in usage poller: accounts and how polling goes")
async def get_poller(request: Request, who: Admin) -> PollerView:
    return await deps.services(request).usage_poller.view()


@router.put(
    "/api/limits/poller",
    summary="Give the poller an account's OAuth token (kept sealed, never shown)",
)
async def put_poller(
    request: Request, who: Admin, change: Annotated[PollerChange, json_body(PollerChange)]
) -> PollerView:
    return await deps.services(request).usage_poller.set_token(change)


@router.delete("/api/limits/poller", summary="Forget an account's poller token")
async def delete_poller(request: Request, who: Admin, account: Account = None) -> PollerView:
    return await deps.services(request).usage_poller.remove(account)


@router.get("/api/alerts", summary="Alert channels (masked) and rules")
async def get_alerts(request: Request, who: Admin) -> AlertConfigView:
    return await deps.services(request).alerts.config()


@router.put("/api/alerts", summary="Set alert channels (Apprise URLs) and rules")
async def put_alerts(
    request: Request, who: Admin, config: Annotated[AlertConfig, json_body(AlertConfig)]
) -> AlertConfigView:
    return await deps.services(request).alerts.configure(config)


@router.post("/api/alerts/test", summary="Send a test message to every alert channel")
async def test_alerts(request: Request, who: Admin) -> TestResult:
    return await deps.services(request).alerts.test()


@router.get("/api/alerts/history", summary="Alerts fired, newest first")
async def alert_history(
    request: Request,
    who: Reader,
    account: Account = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertView]:
    return await deps.services(request).alerts.alerts(account, limit)
