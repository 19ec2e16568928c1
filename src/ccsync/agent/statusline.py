"""``ccsync statusline``: the account's 5-hour window in Claude Code's status line, fast.

Claude Code runs the command on every update and waits for it, so this never touches the
network: it prints from a small cache file and, when the cache is older than
``FRESH_SECONDS`` (or the status line brought new official percentages), starts the
background refresher (``refresh.py``) and returns at once. Only the standard library and
the agent's config are imported here.

The line, for example::

    7d 63% ▲ pace · 5h 42% · 1.2M tok · $3.40 today · resets 2h13m · 2 devices

It leads with the binding limit (the most used window over every device, from the server's
``/api/limits``), then the 5-hour window if that is another one; ``▲ pace``: the binding
window is being used faster than its time passes; ``~``: an estimate, not Claude Code's
reading.

``$3.40+`` means part of today's usage is of a model no price table knows: its tokens
count, its cost is not in the figure.

The percentage is Claude Code's own (``rate_limits.five_hour``) when it has one, else
``~47%`` of the window limit ccsync knows (the plan limit setting, or the largest past
window). A cache older than ``STALE_SECONDS`` says how old it is.

Before ccsync has any data from the server (nothing cached yet, or only an error), the
line is Claude Code's own reading, with the reason in brackets::

    5h 24% · resets 1h59m · 7d 41% (server unreachable)

Percentages are rounded as Claude Code rounds them: to a tenth, capped at 100 (2.1.332's
``Math.min(Math.round(u*1000)/10,100)``), then to a whole number half up, like
JavaScript's ``Math.round`` (22.5 → 23; Python's ``round`` would give 22). A window whose
``resets_at`` has passed is not shown (Claude Code drops those itself).
"""

from __future__ import annotations

import json
import math
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
        own = _own_limits(hook, now)
        if own:
            return f"{own} ({error or 'no server data yet'})"
        return f"ccsync: no data yet ({error})" if error else "ccsync: no data yet"
    parts = []
    lead = limits_lead(cache.get("limits"), hook, now)
    if lead:
        parts.extend(lead)
    else:
        percent = _percent(window, hook, now)
        if percent:
            parts.append(f"5h {percent}")
    parts.append(f"{_tokens(window.get('tokens') or 0)} tok")
    today = window.get("today")
    cost_today = today.get("costUSD") if isinstance(today, dict) else None
    # "+": some of today's usage is of a model without a price, left out of the cost
    partial = "+" if isinstance(today, dict) and today.get("unpricedModels") else ""
    parts.append(f"${float(cost_today or 0):,.2f}{partial} today")
    reset = _reset_at(window, hook, now)
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


def window_label(name: str) -> str:
    """``5h``, ``7d``, ``7d opus``: a window's name as the status line says it."""
    if name == "five_hour":
        return "5h"
    if name == "seven_day":
        return "7d"
    return "7d " + name.removeprefix("seven_day_")


def shown_limits(
    limits: object, hook: Mapping[str, Any], now: float
) -> list[tuple[str, float, bool, str | None]]:
    """What ``GET /api/limits`` said (a cached copy), as it stands at ``now``: per window
    (name, used %, official?, pace status), the binding one first. This session's own
    reading of a window wins over the cached one; an official reading whose reset has
    passed is never used (the estimate stands in, marked ``~``)."""
    items = limits.get("limits") if isinstance(limits, dict) else None
    if not isinstance(items, list):
        return []
    found: list[tuple[str, float, bool, str | None, float]] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        name = item["name"]
        pace = item.get("pace")
        status = pace.get("status") if isinstance(pace, dict) else None
        resets = _epoch(item.get("resetsAt"))
        own = _hook_window(hook, name, now)
        official = item.get("official")
        if own is not None:
            used, is_official = float(own["usedPercentage"]), True
            resets = own["resetsAt"] if own["resetsAt"] is not None else resets
        elif (
            isinstance(official, dict)
            and _number(official.get("usedPercentage"))
            and ((_epoch(official.get("resetsAt")) or now + 1) > now)
        ):
            used, is_official = float(official["usedPercentage"]), True
        else:
            estimate = item.get("estimate")
            percent = estimate.get("percent") if isinstance(estimate, dict) else None
            if not isinstance(percent, int | float) or isinstance(percent, bool):
                continue
            if resets is not None and resets <= now:
                continue
            used, is_official = float(percent), False
        found.append((name, used, is_official, status, resets if resets is not None else 0.0))
    # The binding window: the most used (ties: the one resetting later), as the server says.
    found.sort(key=lambda f: (-f[1], -f[4]))
    return [(name, used, official, status) for name, used, official, status, _ in found]


def limits_lead(limits: object, hook: Mapping[str, Any], now: float) -> list[str]:
    """The status line's start: the binding window, then the 5-hour one if it is another
    (``7d 63% ▲ pace · 5h 42%``). ``▲ pace``: used faster than the window's time passes."""
    shown = shown_limits(limits, hook, now)
    if not shown:
        return []
    parts = []
    for index, (name, used, official, status) in enumerate(shown):
        if index and name != "five_hour":
            continue
        text = f"{window_label(name)} {'' if official else '~'}{official_percent(used)}%"
        if index == 0 and status == "ahead":
            text += " ▲ pace"
        parts.append(text)
        if name == "five_hour" and index:
            break
    return parts


def js_round(value: float) -> int:
    """``value`` to a whole number as JavaScript's ``Math.round`` does: halves up."""
    return math.floor(value + 0.5)


def official_percent(value: float) -> int:
    """An official percentage as Claude Code 2.1.332 shows it: a tenth, capped at 100,
    then a whole number (both half up)."""
    return js_round(min(js_round(value * 10) / 10, 100))


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _hook_window(hook: Mapping[str, Any], name: str, now: float) -> dict[str, Any] | None:
    """One of the status line's own ``rate_limits`` windows, unless its reset has passed."""
    limits = hook.get("rate_limits")
    found = limits.get(name) if isinstance(limits, dict) else None
    if not isinstance(found, dict) or not _number(found.get("used_percentage")):
        return None
    resets = found.get("resets_at") if _number(found.get("resets_at")) else None
    if resets is not None and resets <= now:
        return None  # that window has reset: the reading says nothing of the new one
    return {"usedPercentage": found["used_percentage"], "resetsAt": resets}


def _own_limits(hook: Mapping[str, Any], now: float) -> str:
    """Claude Code's own readings: ``5h 24% · resets 1h59m · 7d 41%`` (or empty)."""
    parts = []
    five = _hook_window(hook, "five_hour", now)
    if five is not None:
        parts.append(f"5h {official_percent(five['usedPercentage'])}%")
        if five["resetsAt"] is not None:
            parts.append(f"resets {_duration(five['resetsAt'] - now)}")
    seven = _hook_window(hook, "seven_day", now)
    if seven is not None:
        parts.append(f"7d {official_percent(seven['usedPercentage'])}%")
    return " · ".join(parts)


def _percent(window: Mapping[str, Any], hook: Mapping[str, Any], now: float) -> str | None:
    official = _official(hook, window, now)
    if official is not None:
        return f"{official_percent(float(official['usedPercentage']))}%"
    limit = window.get("limit")
    if isinstance(limit, dict) and _number(limit.get("percentUsed")):
        return f"~{js_round(limit['percentUsed'])}%"
    return None


def _official(
    hook: Mapping[str, Any], window: Mapping[str, Any], now: float
) -> dict[str, Any] | None:
    """The five-hour percentage: this session's own, else the freshest one any device saw
    (neither once its window has reset)."""
    own = _hook_window(hook, "five_hour", now)
    if own is not None:
        return own
    official = window.get("official")
    five = official.get("fiveHour") if isinstance(official, dict) else None
    if isinstance(five, dict) and _number(five.get("usedPercentage")):
        resets = _epoch(five.get("resetsAt"))
        if resets is None or resets > now:
            return {"usedPercentage": five["usedPercentage"], "resetsAt": resets}
    return None


def _reset_at(window: Mapping[str, Any], hook: Mapping[str, Any], now: float) -> float | None:
    official = _official(hook, window, now)
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
