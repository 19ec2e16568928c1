"""``ccsync statusline``: the account's 5-hour window in Claude Code's status line, fast.

Claude Code runs the command on every update and waits for it, so this never touches the
network: it prints from a small cache file and, when the cache is older than
``FRESH_SECONDS`` (or the status line brought new official percentages), starts the
background refresher (``refresh.py``) and returns at once. Only the standard library and
the agent's config are imported here.

The line, for example::

    5h 52% · 1.2M tok · $3.40 today · resets 2h13m · 2 devices

``$3.40+`` means part of today's usage is of a model no price table knows: its tokens
count, its cost is not in the figure.

The percentage is Claude Code's own (``rate_limits.five_hour``) when it has one, else
``~47%`` of the window limit ccsync knows (the plan limit setting, or the largest past
window). A cache older than ``STALE_SECONDS`` says how old it is.
"""

from __future__ import annotations

import json
import os
import sys
import time

from ccsync.agent.detach import spawn_detached
from ccsync.agent.paths import state_dir

TYPE_CHECKING = False  # not typing's: importing typing would cost this command 3 ms
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, TextIO

CACHE_FILE = "statusline.json"
LIMITS_FILE = "ratelimits.json"
LOCK_FILE = "statusline.lock"
FRESH_SECONDS = 10.0
STALE_SECONDS = 120.0
LOCK_SECONDS = 30.0
MAX_INPUT = 1 << 20


def main(
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    env: Mapping[str, str] | None = None,
    now: float | None = None,
) -> int:
    """Read Claude Code's JSON, print one line. Always exit 0: a status line never fails."""
    env = os.environ if env is None else env
    now = time.time() if now is None else now
    try:
        hook = json.loads(stdin.read(MAX_INPUT) or "{}")
    except ValueError:
        hook = {}
    if not isinstance(hook, dict):
        hook = {}
    state = state_dir(env)
    new_limits = isinstance(hook.get("rate_limits"), dict) and _save_limits(
        state, hook["rate_limits"], now
    )
    cache = read_json(os.path.join(state, CACHE_FILE))
    fetched = cache.get("fetched") if isinstance(cache.get("fetched"), int | float) else None
    if new_limits or fetched is None or now - fetched > FRESH_SECONDS:
        _start_refresher(state, now)
    stdout.write(render(cache, hook, now) + "\n")
    stdout.flush()
    return 0


def render(cache: Mapping[str, Any], hook: Mapping[str, Any], now: float) -> str:
    """The status line for a cache file's content and the status line's own input."""
    window = cache.get("window")
    if not isinstance(window, dict):
        error = cache.get("error")
        return f"ccsync: no data yet ({error})" if error else "ccsync: no data yet"
    parts = []
    percent = _percent(window, hook)
    if percent:
        parts.append(f"5h {percent}")
    parts.append(f"{_tokens(window.get('tokens') or 0)} tok")
    today = window.get("today")
    cost_today = today.get("costUSD") if isinstance(today, dict) else None
    # "+": some of today's usage is of a model without a price, left out of the cost
    partial = "+" if isinstance(today, dict) and today.get("unpricedModels") else ""
    parts.append(f"${float(cost_today or 0):,.2f}{partial} today")
    reset = _reset_at(window, hook)
    if window.get("active") and reset is not None:
        parts.append(f"resets {_duration(reset - now)}")
    elif not window.get("active"):
        parts.append("no active window")
    devices = [d for d in window.get("devices") or [] if isinstance(d, dict) and d.get("tokens")]
    if devices:
        parts.append(f"{len(devices)} device{'s' if len(devices) != 1 else ''}")
    line = " · ".join(parts)
    fetched = cache.get("fetched")
    if isinstance(fetched, int | float) and now - fetched > STALE_SECONDS:
        line += f" (as of {_duration(now - fetched)} ago)"
    return line


def _percent(window: Mapping[str, Any], hook: Mapping[str, Any]) -> str | None:
    official = _official(hook, window)
    if official is not None:
        return f"{round(float(official['usedPercentage']))}%"
    limit = window.get("limit")
    if isinstance(limit, dict) and isinstance(limit.get("percentUsed"), int | float):
        return f"~{round(limit['percentUsed'])}%"
    return None


def _official(hook: Mapping[str, Any], window: Mapping[str, Any]) -> dict[str, Any] | None:
    """The five-hour percentage: this session's own, else the freshest one any device saw."""
    limits = hook.get("rate_limits")
    five = limits.get("five_hour") if isinstance(limits, dict) else None
    if isinstance(five, dict) and isinstance(five.get("used_percentage"), int | float):
        resets = five.get("resets_at")
        return {
            "usedPercentage": five["used_percentage"],
            "resetsAt": resets if isinstance(resets, int | float) else None,
        }
    official = window.get("official")
    five = official.get("fiveHour") if isinstance(official, dict) else None
    if isinstance(five, dict) and isinstance(five.get("usedPercentage"), int | float):
        return {"usedPercentage": five["usedPercentage"], "resetsAt": _epoch(five.get("resetsAt"))}
    return None


def _reset_at(window: Mapping[str, Any], hook: Mapping[str, Any]) -> float | None:
    official = _official(hook, window)
    if official is not None and official.get("resetsAt") is not None:
        return float(official["resetsAt"])
    return _epoch(window.get("end"))


def _epoch(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        from datetime import datetime

        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _tokens(count: float) -> str:
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if count >= limit:
            return f"{count / limit:.1f}{suffix}"
    return str(int(count))


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m" if minutes else f"{seconds}s"


def read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: str | os.PathLike[str], data: object) -> None:
    """Replace ``path`` atomically (readers never see half a file)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)


def _save_limits(state: str, limits: dict[str, Any], now: float) -> bool:
    """Keep the newest official percentages for the refresher; whether they changed."""
    path = os.path.join(state, LIMITS_FILE)
    if read_json(path).get("rate_limits") == limits:
        return False
    write_json(path, {"rate_limits": limits, "at": now})
    return True


def _start_refresher(state: str, now: float) -> None:
    """Start ``python -m ccsync.agent.refresh`` detached, unless one is already running."""
    lock = os.path.join(state, LOCK_FILE)
    try:
        os.makedirs(state, exist_ok=True)
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            if now - os.stat(lock).st_mtime < LOCK_SECONDS:
                return  # a refresh is under way
            os.unlink(lock)
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return
    except OSError:
        return
    os.close(fd)
    if not spawn_detached([sys.executable, "-m", "ccsync.agent.refresh", state]):
        os.unlink(lock)


if __name__ == "__main__":
    sys.exit(main())
