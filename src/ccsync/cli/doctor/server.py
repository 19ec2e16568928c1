"""The server: reachable, healthy, this device's token accepted, its stores and scheduler
(and the ``claude`` its jobs run on the server's host)."""

from __future__ import annotations

from typing import Any

import httpx

from ccsync.cli.doctor.check import Check


def server_checks(server: str, token: str | None) -> list[Check]:
    """``/health``, then ``/api/status`` with this device's token."""
    checks = []
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        health = httpx.get(f"{server}/health", timeout=5)
    except httpx.HTTPError as exc:
        return [
            Check(
                False,
                f"server {server}",
                f"unreachable ({exc}): start `ccsync serve`, or set CCSYNC_SERVER",
            )
        ]
    body = (
        health.json()
        if health.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    checks.append(
        Check(
            health.status_code == 200,
            f"server {server} answers",
            f"unhealthy: {body.get('error', health.status_code)}",
        )
    )
    status = httpx.get(f"{server}/api/status", headers=headers, timeout=5)
    if status.status_code == 401:
        checks.append(
            Check(
                False,
                "authenticated",
                "the server wants a token: set CCSYNC_TOKEN (ask its admin: `ccsync device add NAME`)",
            )
        )
        return checks
    checks.append(
        Check(status.status_code == 200, "authenticated", f"server answered {status.status_code}")
    )
    if status.status_code == 200:
        info = status.json()
        for part in ("live", "history"):
            state = info[part].get("state")
            checks.append(
                Check(state == "ok", f"server {part} store: {info[part]['backend']}", f"{state}")
            )
        checks.extend(scheduler_checks(info))
    return checks


def scheduler_checks(info: dict[str, Any]) -> list[Check]:
    """The server's scheduler and the ``claude`` its jobs run (on the server's host)."""
    scheduler = info.get("scheduler") or {}
    checks = [
        Check(
            bool(scheduler.get("available")),
            f"server scheduler: {scheduler.get('jobs', 0)} jobs, "
            f"{scheduler.get('enabledJobs', 0)} enabled",
            str(scheduler.get("error", "unavailable")),
            required=False,
        )
    ]
    claude = (info.get("tools") or {}).get("claude") or {}
    auth = claude.get("auth") or {}
    if not claude.get("found"):
        advice = "not installed there (only needed for scheduled prompts and warm-ups)"
    else:
        advice = "not logged in: run `claude auth login` there (scheduled prompts fail until then)"
    logged_in = bool(claude.get("found")) and bool(auth.get("loggedIn"))
    how = ", ".join(str(auth[key]) for key in ("authMethod", "subscriptionType") if auth.get(key))
    checks.append(
        Check(
            logged_in,
            "claude on the server host" + (f": logged in ({how})" if logged_in else ""),
            advice,
            required=False,
        )
    )
    return checks
