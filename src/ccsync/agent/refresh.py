"""The status line's background refresher: forward official percentages, fetch the window.

Started detached by ``statusline.py`` (``python -m ccsync.agent.refresh STATE_DIR``),
never waited for. It posts the newest ``rate_limits`` the status line saw (if not sent
yet) to ``POST /api/limits/{device}``, reads ``GET /api/window`` and ``GET /api/limits`` into the cache file, and
removes the lock. When the server cannot be reached the old window stays, with the error.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import httpx

from ccsync.agent.config import load_config
from ccsync.agent.statusline import CACHE_FILE, LIMITS_FILE, LOCK_FILE, read_json, write_json
from ccsync.usage.discovery import claude_account

TIMEOUT = 5.0


def refresh(state: Path) -> dict[str, Any]:
    """One refresh; the cache it wrote."""
    config = load_config(state_dir=state)
    cache = read_json(state / CACHE_FILE)
    headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
    try:
        with httpx.Client(base_url=config.server, headers=headers, timeout=TIMEOUT) as http:
            limits = read_json(state / LIMITS_FILE)
            if limits.get("rate_limits") and limits.get("at") != cache.get("limitsSent"):
                body = _limits_body(limits["rate_limits"], limits.get("at"))
                if body:
                    post_limits(http, config.device, body)
                cache["limitsSent"] = limits.get("at")
            response = http.get("/api/window")
            response.raise_for_status()
            cache.update(window=response.json(), fetched=time.time(), server=config.server)
            answer = http.get("/api/limits")  # an older server has none: the line goes without
            if answer.status_code == 200:
                cache["limits"] = answer.json()
            else:
                cache.pop("limits", None)
            cache.pop("error", None)
    except (httpx.HTTPError, ValueError) as exc:
        cache.update(error=_short(exc), errorAt=time.time())
    write_json(state / CACHE_FILE, cache)
    return cache


def _limits_body(raw: Any, seen_at: Any = None) -> dict[str, Any] | None:
    """The status line's ``rate_limits``, reduced to what the server takes, with the account,
    the source (``statusline``) and when the status line saw them."""
    if not isinstance(raw, dict):
        return None
    body: dict[str, Any] = {}
    for name in ("five_hour", "seven_day"):
        window = raw.get(name)
        if isinstance(window, dict) and isinstance(window.get("used_percentage"), int | float):
            body[name] = {"used_percentage": window["used_percentage"]}
            if isinstance(window.get("resets_at"), int | float):
                body[name]["resets_at"] = window["resets_at"]
            if isinstance(seen_at, int | float) and seen_at > 0:
                body[name]["observed_at"] = seen_at
    if not body:
        return None
    body["source"] = "statusline"
    account = claude_account()
    if account:
        body["account"] = account
    return body


def legacy_limits_body(body: dict[str, Any]) -> dict[str, Any] | None:
    """``body`` as servers before readings said their source take it (five-hour and
    seven-day windows only, without ``source`` and ``observed_at``)."""
    legacy: dict[str, Any] = {}
    for name in ("five_hour", "seven_day"):
        window = body.get(name)
        if isinstance(window, dict):
            legacy[name] = {k: v for k, v in window.items() if k != "observed_at"}
    if not legacy:
        return None
    if "account" in body:
        legacy["account"] = body["account"]
    return legacy


def post_limits(http: httpx.Client, device: str, body: dict[str, Any]) -> None:
    """``POST /api/limits/{device}``; to an older server (which refuses the fields it does
    not know with a 422), again in the shape it takes. ``httpx.HTTPError`` otherwise."""
    response = http.post(f"/api/limits/{device}", json=body)
    if response.status_code == 422:
        legacy = legacy_limits_body(body)
        if legacy is not None and legacy != body:
            response = http.post(f"/api/limits/{device}", json=legacy)
    response.raise_for_status()


def _short(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"server answered {exc.response.status_code}"
    if isinstance(exc, httpx.ConnectError | httpx.TimeoutException):
        return "server unreachable"
    return type(exc).__name__


def main(argv: list[str]) -> int:
    state = Path(argv[1]) if len(argv) > 1 else load_config().state_dir
    try:
        refresh(state)
    finally:
        (state / LOCK_FILE).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
